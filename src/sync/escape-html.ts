/** The one escape of text for HTML and SVG (the deflection report, the admin pages): user input goes through here, always. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
