/**
 * A minimal XML reader for libvirt domain XML: elements, attributes, text, comments, CDATA, processing
 * instructions and the predefined/numeric entities. No DTDs, no namespace resolution (prefixed names are kept
 * as written; `localName` strips the prefix). Malformed input throws XmlError with the offset, so a bad
 * document is reported, never half-parsed silently.
 */
import { XmlError } from "./errors.ts";

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(Number.parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? whole;
  });
}

const NAME = /[A-Za-z_][\w.:-]*/y;
const ATTR = /\s*([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;

export function parseXml(xml: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  const fail = (msg: string): never => {
    throw new XmlError(`${msg} at offset ${i}`);
  };
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const textEnd = lt === -1 ? xml.length : lt;
    if (textEnd > i) {
      const top = stack.at(-1);
      if (top) top.text += decodeEntities(xml.slice(i, textEnd));
      else if (xml.slice(i, textEnd).trim() !== "") fail("text outside the root element");
    }
    if (lt === -1) break;
    i = lt;
    if (xml.startsWith("<!--", i)) {
      const end = xml.indexOf("-->", i + 4);
      if (end === -1) fail("unterminated comment");
      i = end + 3;
    } else if (xml.startsWith("<![CDATA[", i)) {
      const end = xml.indexOf("]]>", i + 9);
      if (end === -1) fail("unterminated CDATA");
      const top = stack.at(-1) ?? fail("CDATA outside the root element");
      top.text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith("<?", i) || xml.startsWith("<!", i)) {
      const end = xml.indexOf(">", i);
      if (end === -1) fail("unterminated declaration");
      i = end + 1;
    } else if (xml.startsWith("</", i)) {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(xml) ?? fail("bad closing tag");
      const open = stack.pop();
      if (!open || open.name !== m[0]) fail(`closing tag </${m[0]}> does not match <${open?.name ?? ""}>`);
      const end = xml.indexOf(">", NAME.lastIndex);
      if (end === -1) fail("unterminated closing tag");
      i = end + 1;
    } else {
      NAME.lastIndex = i + 1;
      const m = NAME.exec(xml) ?? fail("bad tag name");
      const el: XmlElement = { name: m[0], attrs: {}, children: [], text: "" };
      let j = NAME.lastIndex;
      for (;;) {
        ATTR.lastIndex = j;
        const a = ATTR.exec(xml);
        if (!a) break;
        el.attrs[a[1]!] = decodeEntities(a[2] ?? a[3] ?? "");
        j = ATTR.lastIndex;
      }
      while (j < xml.length && /\s/.test(xml[j]!)) j++;
      const selfClosing = xml.startsWith("/>", j);
      if (!selfClosing && xml[j] !== ">") fail(`bad attribute in <${el.name}>`);
      const parent = stack.at(-1);
      if (parent) parent.children.push(el);
      else if (root) fail("second root element");
      else root = el;
      if (!selfClosing) stack.push(el);
      i = j + (selfClosing ? 2 : 1);
    }
  }
  if (stack.length > 0) fail(`unclosed <${stack.at(-1)!.name}>`);
  return root ?? fail("no root element");
}

/** `nova:instance` → `instance`. */
export function localName(el: XmlElement): string {
  const c = el.name.indexOf(":");
  return c === -1 ? el.name : el.name.slice(c + 1);
}

/** First child with this (local) name. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name || localName(c) === name);
}

export function children(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.name === name || localName(c) === name) : [];
}

/** An attribute of an element that may be missing, or null. */
export function attr(el: XmlElement | undefined, name: string): string | null {
  return el?.attrs[name] ?? null;
}

/** Trimmed text of a child element, or null. */
export function childText(el: XmlElement | undefined, name: string): string | null {
  const c = child(el, name);
  const t = c?.text.trim();
  return t ? t : null;
}
