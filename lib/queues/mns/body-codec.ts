/**
 * MNS message-body encoding.
 *
 * `@alicloud/mns` pastes values into its request XML without escaping, so a body holding `<` or `&`
 * would make a malformed request (or, worse, inject elements). We XML-escape the text on send; the
 * service parses the request XML and stores the original text, and the SDK's XML parser unescapes it
 * on receive. The stored body is therefore the plain text, byte for byte: consumers using any other
 * MNS SDK (or the console) see exactly what was sent, and a plain-text body from another producer is
 * read as is. We do not Base64 the body (the Java/Python SDKs' default), so bodies stay readable.
 *
 * `\r` is written as a character reference because XML parsers turn a literal CR into LF. Characters
 * XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF) cannot be sent.
 */

// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
const invalidXmlChar = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export function xmlEscapeText(text: string): string {
  return text.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

/** Returns the index of the first character XML cannot carry, or -1. */
export function findInvalidXmlChar(text: string): number {
  const m = invalidXmlChar.exec(text);
  return m ? m.index : -1;
}

export function encodeMnsBody(text: string): string {
  return xmlEscapeText(text);
}
