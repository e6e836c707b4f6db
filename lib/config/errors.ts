/** One bad setting: where it is, what was given (redacted when secret), what is expected. */
export interface ConfigProblem {
  /** "Section:Key", as in the settings file; the env var is Section__Key. */
  key: string;
  envVar: string;
  given: string;
  expected: string;
  source: 'default' | 'file' | 'env';
}

/** Thrown at start when the configuration is bad; lists every bad key at once. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    const lines = problems.map(
      (p) => `  - ${p.key} (env ${p.envVar}, from ${p.source}): got ${p.given}; expected ${p.expected}`,
    );
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
