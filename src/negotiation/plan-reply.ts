/**
 * Did the debtor accept or decline the plan we restated? Only plain answers count: anything that also
 * states an amount, a number, or a condition ("yes but only $50", "ok if I can start Monday") is a new
 * offer or a question, and returns null so the caller parses it as such. Folded text (foldText), so
 * "sí"/"si" and "está bien"/"esta bien" are the same.
 *
 * Look-alikes, decided:
 * - "no problem" / "no hay problema" / "no worries" are acceptance, not refusal;
 * - "ya" is not "yeah" (Spanish "already"), so it is not an answer;
 * - a message ending in "?" ("ok?", "yes?") is a question, not an answer;
 * - "si" alone is yes; "si puedo" (yes I can) is yes too.
 */
import { foldText } from '../../machines/conversation/text.js';

export type PlanReply = 'accept' | 'decline';

const ACCEPT_NEGATIONS = /^(?:no problem|no prob|no worries|no hay problema|no hay bronca|sin problema)\b/;
const ACCEPT =
  /^(?:yes|yess+|yea|yeah|yeh|yep|yup|ok|okay|okey|k|kk|agreed|agree|i agree|deal|sounds good|that works|works for me|sure|of course|confirm|confirmed|i confirm|alright|all right|perfect|great|fine|si|sii+|de acuerdo|deacuerdo|acepto|aceptado|claro|claro que si|esta bien|ta bien|vale|perfecto|listo|confirmo|sale|orale)\b/;
const DECLINE =
  /^(?:no|nope|nah|no thanks|no thank you|i can'?t|i cannot|can'?t|cannot|i do not agree|i don'?t agree|not agree|decline|i decline|no puedo|no gracias|no acepto|no estoy de acuerdo|imposible)\b/;
/** A condition or a change: not a plain answer. */
const CONDITION = /\b(?:but|only|just|instead|unless|except|if|rather|pero|solo|solamente|nomas|mejor|en vez|excepto|a menos|cambiar|change)\b/;
const NUMBER = /\d|\$|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|dollars?|bucks|dolares|dlls?)\b/;

export function detectPlanReply(text: string): PlanReply | null {
  const folded = foldText(text).replace(/[¡¿]/g, '');
  if (folded.length === 0 || /\?\s*$/.test(folded)) return null;
  if (NUMBER.test(folded) || CONDITION.test(folded)) return null;
  const plain = folded.replace(/[!.,;:]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (ACCEPT_NEGATIONS.test(plain)) return 'accept';
  const accepts = ACCEPT.test(plain);
  const declines = DECLINE.test(plain) || /\b(?:can'?t|cannot|no puedo|no acepto|don'?t agree|not agree)\b/.test(plain);
  if (accepts && !declines) return 'accept';
  if (declines && !accepts) return 'decline';
  return null;
}
