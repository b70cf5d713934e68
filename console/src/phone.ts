// Phone numbers as agents type them: "+998 90 111 22 33" on screen, E.164 to the API. The gateway
// accepts other spellings too and is the one that validates; this only helps typing.

/** The digits of `text`, with a leading "+" kept. */
function digitsOf(text: string): string {
  return text.replace(/\D/g, "");
}

/**
 * Formats what the agent typed: Uzbek numbers as "+998 XX XXX XX XX" (a local 9-digit number gets
 * +998), anything else as "+" and its digits.
 */
export function formatPhone(text: string): string {
  let digits = digitsOf(text);
  if (digits === "") return text.trim().startsWith("+") ? "+" : "";
  if (!text.trim().startsWith("+") && digits.length <= 9 && !digits.startsWith("998")) {
    digits = `998${digits}`;
  }
  if (!digits.startsWith("998")) return `+${digits.slice(0, 15)}`;
  const local = digits.slice(3, 12);
  const groups = [local.slice(0, 2), local.slice(2, 5), local.slice(5, 7), local.slice(7, 9)];
  return ["+998", ...groups.filter((group) => group !== "")].join(" ");
}

/** E.164 ("+998901112233") when the text is a complete Uzbek number, else null. */
export function uzbekE164(text: string): string | null {
  const formatted = formatPhone(text);
  const digits = digitsOf(formatted);
  return /^998\d{9}$/.test(digits) ? `+${digits}` : null;
}
