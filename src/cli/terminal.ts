/**
 * The print edge of every human-readable command: webhook data (a ticket
 * subject, a subscriber's answer, a quarantine reason) can carry terminal
 * escape sequences that would recolour, retitle or rewrite an operator's
 * terminal. `printText` strips them; JSON output (`printJson`) stays exact.
 */

// ESC-introduced sequences whole (CSI … final byte, OSC … BEL/ST, DCS/PM/APC … ST, two-byte escapes) and their
// one-byte C1 forms (0x9b CSI, 0x9d OSC…), then any
// control character left: C0 except tab and newline, DEL, C1, and the bidirectional
// overrides and isolates that reorder what a line appears to say.
const ESCAPE_SEQUENCE =
  /\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_]|[ -/]*[0-~])?|\x9b[0-?]*[ -/]*[@-~]|[\x90\x98\x9d-\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?/g;
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text safe to print on a terminal: escape sequences and control characters removed, tabs and newlines kept. */
export function forTerminal(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, '');
}

/** Writes human-readable output: the one place it reaches the terminal. */
export function printText(text: string): void {
  process.stdout.write(forTerminal(text));
}
