/** A JSON Schema node as z.toJSONSchema writes it (the parts the docs read). */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
}

/** Deepest nesting spelled out in a result's type; deeper objects print as `{…}`. */
const MAX_DEPTH = 3;

/** A compact TypeScript-like type: `{ stdout: string, returncode?: integer }`, `string[]`, `"a" | "b"`. */
export function typeText(s: JsonSchema, depth = 0): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum !== undefined) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives !== undefined) {
    return [...new Set(alternatives.map((a) => typeText(a, depth)))].join(' | ');
  }
  if (s.allOf !== undefined) return s.allOf.map((a) => typeText(a, depth)).join(' & ');
  const type = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
  if (type === 'array') return `${wrap(typeText(s.items ?? {}, depth))}[]`;
  if (type === 'object' || s.properties !== undefined) {
    const props = Object.entries(s.properties ?? {});
    const extra = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
    if (props.length === 0)
      return extra === undefined ? 'object' : `{ [key]: ${typeText(extra, depth + 1)} }`;
    if (depth >= MAX_DEPTH) return '{…}';
    const required = new Set(s.required ?? []);
    return `{ ${props.map(([k, v]) => `${k}${required.has(k) ? '' : '?'}: ${typeText(v, depth + 1)}`).join(', ')} }`;
  }
  return type ?? 'any';
}

function wrap(t: string): string {
  return t.includes(' | ') ? `(${t})` : t;
}

/** The limits a schema enforces, in words: `1–10000 chars`, `≤ 3600`, `pattern …`. */
export function limitsText(s: JsonSchema): string {
  const parts: string[] = [];
  const range = (lo: number | undefined, hi: number | undefined, unit: string) => {
    if (lo !== undefined && hi !== undefined) parts.push(`${lo}–${hi}${unit}`);
    else if (lo !== undefined) parts.push(`≥ ${lo}${unit}`);
    else if (hi !== undefined) parts.push(`≤ ${hi}${unit}`);
  };
  range(s.minLength, s.maxLength, ' chars');
  range(s.minimum ?? s.exclusiveMinimum, s.maximum ?? s.exclusiveMaximum, '');
  range(s.minItems, s.maxItems, ' items');
  if (s.pattern !== undefined) parts.push(`pattern \`${s.pattern}\``);
  if (s.format !== undefined) parts.push(s.format);
  const items = s.items;
  if (items !== undefined) {
    const inner = limitsText(items);
    if (inner) parts.push(`each ${inner}`);
  }
  for (const alt of s.anyOf ?? s.oneOf ?? []) {
    const inner = limitsText(alt);
    if (inner && !parts.includes(inner)) parts.push(inner);
  }
  return parts.join(', ');
}
