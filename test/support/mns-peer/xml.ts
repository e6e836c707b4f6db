/**
 * A small, strict XML reader and writer for the MNS peer: enough for the request bodies the service
 * accepts (a root element with child elements holding text), strict enough to refuse what the real
 * service refuses (unescaped `<` or `&`, unknown entities, characters XML cannot carry, mismatched tags).
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element, entities decoded. */
  text: string;
}

export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'XmlSyntaxError';
  }
}

const nameStart = /[A-Za-z_:]/;
const nameChar = /[A-Za-z0-9_:.-]/;
const invalidChar = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const predefined: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function parseXml(source: string): XmlElement {
  const src = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  const bad = invalidChar.exec(src);
  if (bad) throw new XmlSyntaxError('character not allowed in XML', bad.index);
  let i = 0;

  const fail = (msg: string): never => {
    throw new XmlSyntaxError(msg, i);
  };
  const skipSpace = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (src.startsWith('<?', i)) {
        const end = src.indexOf('?>', i);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else return;
    }
  };
  const readName = (): string => {
    const start = i;
    if (!nameStart.test(src[i] ?? '')) fail('expected a name');
    i++;
    while (i < src.length && nameChar.test(src[i]!)) i++;
    return src.slice(start, i);
  };
  const decode = (raw: string, at: number): string => {
    if (raw.includes('<')) throw new XmlSyntaxError('"<" in character data', at);
    return raw.replace(/&([^;&\s]*);?/g, (m, ent: string) => {
      if (!m.endsWith(';')) throw new XmlSyntaxError('"&" not starting an entity', at);
      if (ent in predefined) return predefined[ent]!;
      const num = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(ent);
      if (!num) throw new XmlSyntaxError(`unknown entity &${ent};`, at);
      const cp = num[1] ? parseInt(num[1], 16) : parseInt(num[2]!, 10);
      const ch = cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
      if (!ch || invalidChar.test(ch)) throw new XmlSyntaxError(`character reference &${ent}; not allowed`, at);
      return ch;
    });
  };

  const readElement = (): XmlElement => {
    if (src[i] !== '<') fail('expected "<"');
    i++;
    const name = readName();
    const attributes: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (src.startsWith('/>', i)) {
        i += 2;
        return { name, attributes, children: [], text: '' };
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      const attr = readName();
      skipSpace();
      if (src[i] !== '=') fail('expected "=" after an attribute name');
      i++;
      skipSpace();
      const q = src[i];
      if (q !== '"' && q !== "'") fail('expected a quoted attribute value');
      const end = src.indexOf(q!, i + 1);
      if (end < 0) fail('unterminated attribute value');
      attributes[attr] = decode(src.slice(i + 1, end), i);
      i = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (i >= src.length) fail(`unterminated element <${name}>`);
      if (src.startsWith('</', i)) {
        i += 2;
        const close = readName();
        if (close !== name) fail(`</${close}> closes <${name}>`);
        skipSpace();
        if (src[i] !== '>') fail('expected ">"');
        i++;
        return { name, attributes, children, text };
      }
      if (src.startsWith('<![CDATA[', i)) {
        const end = src.indexOf(']]>', i);
        if (end < 0) fail('unterminated CDATA section');
        text += src.slice(i + 9, end);
        i = end + 3;
        continue;
      }
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
        continue;
      }
      if (src[i] === '<') {
        children.push(readElement());
        continue;
      }
      const next = src.indexOf('<', i);
      const end = next < 0 ? src.length : next;
      const raw = src.slice(i, end);
      if (raw.includes(']]>')) fail('"]]>" in character data');
      text += decode(raw, i);
      i = end;
    }
  };

  skipMisc();
  const root = readElement();
  skipMisc();
  if (i !== src.length) fail('content after the root element');
  return root;
}

/** Escapes character data for a response (CR as a reference: parsers turn a literal CR into LF). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

const NS = 'http://mns.aliyuncs.com/doc/v1/';

/** `<Root xmlns=...><K>v</K>...</Root>`; nested arrays become repeated child elements. */
export type XmlValue = string | number | boolean | XmlFields | XmlFields[];
export interface XmlFields {
  [key: string]: XmlValue | undefined;
}

function fields(obj: XmlFields): string {
  let out = '';
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) out += v.map((item) => `<${k}>${fields(item)}</${k}>`).join('');
    else if (typeof v === 'object') out += `<${k}>${fields(v)}</${k}>`;
    else out += `<${k}>${escapeXml(String(v))}</${k}>`;
  }
  return out;
}

export function toXml(root: string, content: XmlFields): string {
  // Only the root carries the namespace: the SDK's response reader expects attribute-free children.
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${NS}">${fields(content)}</${root}>`;
}
