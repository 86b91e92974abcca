/**
 * What the law, or the debtor, says a person must handle: the human-only intents (HUMAN_ONLY_INTENTS) and
 * the opt-out, read from inbound texts by keyword rules in English and Spanish, with the common typos.
 * One table, two callers: the rules drafter classifies with it, and the OpenAI drafter's safety net adds
 * whatever it finds that the model missed. A false positive costs a person's time; a false negative can be
 * an FDCPA or TCPA violation, so the rules are wide, and only decided look-alikes are kept out ("attorney
 * general" is a regulator, not a lawyer; "my supervisor" at work is not a request for ours; "discharged from
 * the hospital" is not a bankruptcy discharge).
 *
 * Pure. Rules run on `bareWords` text (lower case, no accents, apostrophes joined: "dont", "im", "ill"; other
 * punctuation dropped) and on `plainWords` text (the same with contractions written out and common typos
 * folded: "do not", "i am", "already paid"); a rule matches if either form does.
 */
import { HUMAN_ONLY_INTENTS, type Intent } from '../../machines/conversation/conversation.types.js';
import { detectOptOut } from '../../machines/conversation/opt-out.js';
import { bareWords, plainWords } from '../../machines/conversation/text.js';

export interface LegalRule {
  intent: Intent;
  id: string;
  pattern: RegExp;
  /** `part`: the rule does not apply to a message about a part of the debt (PART_OF_IT). */
  unless?: 'part';
}

/**
 * A message about a part of the debt ("I paid half, can I pay the rest next week?", "ya pagué la primera
 * cuota"): a payment it names is a report, not a claim that the debt is settled. "The rest" is not a part:
 * "I paid the rest" settles it.
 */
const PART_OF_IT =
  /\b(?:half|partial|part of|some of|most of|first (?:payment|instalment|installment|one)|next (?:payment|instalment|installment|one)|instalments?|installments?|down payment|\d+ (?:of|out of) \d+|la mitad|una parte|primer pago|primera cuota|siguiente (?:pago|cuota)|proxima cuota|cuotas?)\b/;

export const LEGAL_RULES: readonly LegalRule[] = [
  // cease: stop contacting me, in any way (FDCPA §805(c)); a person confirms and records it
  { intent: 'cease', id: 'cease.stop_contacting', pattern: /\b(?:stop|quit|cease) (?:contacting|contacing|contactin|calling|callin|phoning|bothering|bugging) (?:me|us|my family|my work|my job)\b/ },
  { intent: 'cease', id: 'cease.cease', pattern: /\bcease\b/ },
  { intent: 'cease', id: 'cease.do_not_contact', pattern: /\b(?:dont|do not|never|pls dont|please dont) (?:contact|call|phone|email|write to|write|reach out to) (?:me|us)\b|\bdo not call\b|\bno further contact\b/ },
  { intent: 'cease', id: 'cease.leave_me_alone', pattern: /\bleave (?:me|us) (?:alone|be)\b/ },
  { intent: 'cease', id: 'cease.request', pattern: /\b(?:i )?(?:want|request|demand) (?:that )?(?:you )?(?:to )?(?:stop|cease) (?:all )?(?:contact|communication|communications|contacting me)\b/ },
  {
    intent: 'cease',
    id: 'cease.es',
    pattern:
      /\b(?:dej(?:en|a|e) de (?:contactarme|llamarme|molestarme|buscarme|hablarme)|no me (?:contacten|llamen|molesten|busquen|hablen|vuelvan a (?:contactar|llamar|buscar|molestar))|dej(?:en|e|a)me en paz|no (?:quiero|deseo) (?:que me (?:contacten|llamen|busquen)|ningun contacto|mas llamadas)|cese (?:de|toda|el|todo) (?:contacto|comunicacion))\b/,
  },
  // attorney: a lawyer represents them; from now on we talk to the lawyer (FDCPA §805(a)(2))
  {
    intent: 'attorney',
    id: 'attorney.lawyer',
    pattern:
      /\b(?:lawyer|lawyers|laywer|lawer|lawyr|loyer|atty|attorney|attorneys|attorny|atorney|attourney|attorny|attornee|legal aid|legal counsel|counsel|legal representation|legal representative)\b(?! generals?\b)/,
  },
  { intent: 'attorney', id: 'attorney.represented', pattern: /\b(?:im|i am|we are) represented\b|\brepresented by\b/ },
  { intent: 'attorney', id: 'attorney.es', pattern: /\b(?:abogad[oa]s?|abogao|avogad[oa]|asesor(?:a)? legal|representante legal|mi licenciad[oa])\b/ },
  // bankruptcy: the automatic stay stops collection; any chapter, the discharge, the trustee
  { intent: 'bankruptcy', id: 'bankruptcy.word', pattern: /\bba[nc]{0,2}k?r[uo]pt?\w*/ },
  { intent: 'bankruptcy', id: 'bankruptcy.chapter', pattern: /\b(?:chapter|chap|chpt|chptr|ch) ?(?:7|9|11|12|13|15|seven|nine|eleven|twelve|thirteen|fifteen)\b/ },
  {
    intent: 'bankruptcy',
    id: 'bankruptcy.discharge',
    pattern:
      /\b(?:debt|debts|account|balance|loan|loans|it|this|that|everything) (?:was|were|has been|have been|got|is|are|been) discharged\b|\bdischarged? (?:in|through|by|under) (?:my |the |a )?(?:bankruptcy|chapter|court|ch)\b|\bdischarge (?:order|letter|papers|notice)\b|\b(?:bankruptcy )?trustee\b|\bautomatic stay\b/,
  },
  { intent: 'bankruptcy', id: 'bankruptcy.es', pattern: /\b(?:quiebra|bancarrota|banca rota|bancarota)\b|\b(?:capitulo|cap) ?(?:7|11|13|siete|once|trece)\b/ },
  {
    intent: 'bankruptcy',
    id: 'bankruptcy.es_discharge',
    pattern: /\b(?:deuda|deudas|cuenta) (?:fue|fueron|esta|estan|quedo|quedaron) (?:exonerad[oa]s?|descargad[oa]s?)\b|\b(?:exoneracion|descarga) de (?:la |mis |las |mi )?deudas?\b/,
  },
  // threat_to_sue: a lawsuit or a claim that we broke the law; a person (and counsel) handles it
  { intent: 'threat_to_sue', id: 'threat_to_sue.sue_you', pattern: /\b(?:sue|suing|sueing|suin) (?:you|u|ya|yall|your|them|the company|this company|the agency|everyone|all of you|you guys)\b/ },
  {
    intent: 'threat_to_sue',
    id: 'threat_to_sue.will_sue',
    pattern: /\b(?:im|i am|we are|were|ill|i will|we will|well|going to|gonna|gunna|goin to|about to|plan to|planning to|want to|will|shall) (?:sue|suing|sueing)\b/,
  },
  {
    intent: 'threat_to_sue',
    id: 'threat_to_sue.court',
    pattern: /\b(?:see|c|meet|take|taking|drag|dragging|bring|bringing|sue) (?:you|u|ya|yall|your company|your ass|you guys|you all|this company)? ?(?:in|to|into) (?:court|small claims)\b/,
  },
  {
    intent: 'threat_to_sue',
    id: 'threat_to_sue.lawsuit',
    pattern: /\b(?:lawsuit|lawsuits|law suit|class action|small claims|file (?:a )?(?:suit|claim|case) against|(?:take|taking|pursue|pursuing) legal action|legal action against|press charges)\b/,
  },
  { intent: 'threat_to_sue', id: 'threat_to_sue.violation', pattern: /\b(?:fdcpa|tcpa|fcra|fair debt collection practices act)\b|\bviolat\w* (?:the )?(?:law|my rights)\b/ },
  {
    intent: 'threat_to_sue',
    id: 'threat_to_sue.es',
    pattern:
      /\b(?:(?:los|les|lo|la|te|las) (?:voy|vamos) a demandar|voy a demandar(?:los|les|lo|la|te)?|vamos a demandar(?:los|les|lo|la|te)?|(?:los|les|lo|la|te) demand(?:o|are|aremos)|demandar(?:los|les|lo|la|te)|demandare|demandaremos|demanda (?:en su contra|contra (?:ustedes|ud|usted|su (?:empresa|compania|agencia))))\b/,
  },
  {
    intent: 'threat_to_sue',
    id: 'threat_to_sue.es_court',
    pattern:
      /\bnos vemos en (?:la corte|el juzgado|el tribunal|juicio)\b|\b(?:llevar(?:los|les|lo|te)|los voy a llevar|los llevare) (?:a|ante) (?:la corte|juicio|los tribunales|un juez|el juez|el juzgado)\b|\b(?:accion|acciones) legal(?:es)? (?:en su contra|contra)\b|\bproceder legalmente\b/,
  },
  // regulator_complaint: CFPB, FTC, attorney general, BBB; a complaint a person must answer
  {
    intent: 'regulator_complaint',
    id: 'regulator_complaint.agency',
    pattern:
      /\b(?:cfpb|c f p b|cfbp|cpfb|consumer financial protection bureau|consumer protection (?:bureau|agency|office|division)|ftc|f t c|federal trade commission|bbb|b b b|better business bureau|(?:attorney|attorny|atorney|attourney) generals?|ag office|state ag|state regulator|regulators?|banking department|department of (?:financial|banking|consumer) \w+)\b/,
  },
  { intent: 'regulator_complaint', id: 'regulator_complaint.report', pattern: /\breport(?:ing)? (?:you|u|yall|your company|this company|you guys|this|them) (?:to|with)\b/ },
  { intent: 'regulator_complaint', id: 'regulator_complaint.complaint', pattern: /\b(?:file|filing|filed|make|making|submit|submitted|lodge|put in) (?:a |an )?(?:formal |official )?complaints?\b/ },
  {
    intent: 'regulator_complaint',
    id: 'regulator_complaint.es',
    pattern:
      /\b(?:reportarlos|reportarles|reportarlo|denunciarlos|denunciarles|denunciarlo|(?:los|les|lo) voy a (?:reportar|denunciar)|los reportare|los denunciare|(?:poner|presentar|levantar|meter) una (?:queja|denuncia)|queja formal|quejarme (?:con|ante)|fiscal general|procurador(?:a)? general|procuraduria|profeco|proteccion al consumidor|defensoria del consumidor)\b/,
  },
  // harassment_claim: the debtor says our contact is harassment (FDCPA §806)
  { intent: 'harassment_claim', id: 'harassment_claim.harass', pattern: /\bhar+as+\w*|\bharr?ase?ment\b/ },
  {
    intent: 'harassment_claim',
    id: 'harassment_claim.abuse',
    pattern:
      /\b(?:stop|quit) (?:the )?(?:bullying|abusing|stalking)\b|\byou (?:are|re) (?:bullying|abusing|stalking|threatening) me\b|\bthis is (?:abuse|abusive|bullying|stalking)\b|\bstalk(?:ing|er)\b|\b(?:too many|so many|constant|nonstop|non stop|endless) (?:calls|texts|messages|contacts)\b/,
  },
  {
    intent: 'harassment_claim',
    id: 'harassment_claim.es',
    pattern: /\bacos(?:o|a|an|en|ar|ando|andome|andonos|ador|adores|adoras|amiento)\b|\bhostig\w*|\b(?:demasiados|tantos) (?:mensajes|llamadas)\b/,
  },
  // dispute: not theirs, wrong amount, prove it, already paid (FDCPA §809(b): collection pauses until verified).
  // Rules read `plainWords` too, so "isn't", "isn’t", "isnt" and "is not" are one form, and typos are folded.
  { intent: 'dispute', id: 'dispute.not_my_debt', pattern: /\bnot my (?:debts?|dept|bills?|account|balance|loan|card|charges?)\b|\bnot mine\b|\b(?:does|do|did) not belong to (?:me|us)\b/ },
  { intent: 'dispute', id: 'dispute.dont_owe', pattern: /\b(?:dont|do not|never|didnt|did not) owe[sd]?\b|\b(?:i )?owe (?:you |u |yall |them )?nothing\b/ },
  {
    intent: 'dispute',
    id: 'dispute.dispute',
    pattern:
      /\b(?:dispute|disputing|disputed|disput|validation|validate|verification|verify (?:the|this|that) (?:debt|account|amount)|prove it|prove (?:that|this|the debt)|proof of (?:the )?debt|show me (?:the )?proof|send (?:me )?proof)\b/,
  },
  {
    intent: 'dispute',
    id: 'dispute.wrong',
    pattern:
      /\bwrong (?:amount|balance|person|guy|girl|man|woman|lady|individual|party|name|account|debtor|customer)\b|\b(?:incorrect|inaccurate) (?:amount|balance)\b|\bmistaken identity\b/,
  },
  { intent: 'dispute', id: 'dispute.fraud', pattern: /\b(?:scam|fraud|fraudulent|identity theft|stolen identity|stole my identity)\b/ },
  {
    intent: 'dispute',
    id: 'dispute.unknown_debt',
    pattern:
      /\bnever heard of (?:this|you|that|your company|the debt|this debt|it)\b|\b(?:dont|do not) (?:recognize|recognise|know (?:about|of)) (?:this|that|the|your) (?:debt|account|charge|company|balance)\b|\bnever (?:had|opened|signed up for|applied for|took out|had any) (?:an|a|any|this|that|the|such an?) (?:account|card|credit card|loan|contract|service)\b|\bnever (?:did|done|had) (?:any )?business with\b|\b(?:do not|never) (?:have|had) (?:an|any) account (?:with|at) (?:you|u|your|them|that|this|yall)\b/,
  },
  // A claim that the debt is paid disputes it; a report of a part of it ("I paid half", "paid the first one")
  // does not (see PART_OF_IT), and neither does a plan to pay it off ("I want to pay it off").
  {
    intent: 'dispute',
    id: 'dispute.already_paid',
    unless: 'part',
    pattern:
      /\balready paid\b(?! (?:(?:my|the|our|a|an|his|her|their) (?!(?:debt|debts|bill|balance|account|loan|amount|whole|full|entire|total)\b)\w+|(?:this|that|last|for this|for the|for that) (?:week|weeks|month|months|payment|instalment|installment|part|portion)\b|half|part|some|most|rent|bills|\d))|\b(?:i|we|i have|we have|i had|already) paid (?:it|this|that|the (?:debt|balance|account|bill|loan)|you|you guys|yall|them) (?:already|off|in full|last|back|years|months|a long time|long ago|before|yesterday|in \d{4}|\d{4})\b/,
  },
  {
    intent: 'dispute',
    id: 'dispute.paid_off',
    unless: 'part',
    pattern:
      /(?<!\b(?:to|will|can|could|should|wanna|gonna|going to|want to|need to|trying to|try to|help me|cannot|can not|will not|before i|until i|once i|when i|if i) )\bpaid (?:it|this|that|them|everything|the (?:debt|balance|account|bill|loan)|all) off\b|(?<!\b(?:once|when|until|till|after|before|if|whether|as soon as) )\b(?:(?:i|we|i have|we have|i had|we had|already)|(?:it|this|that|everything|the (?:debt|balance|account|bill|loan)|this (?:debt|account|bill)|that (?:debt|account|bill)) (?:is|was|has been|had been|were|are|got)) (?:already )?paid (?:off|in full)\b(?! (?:my|our|a|an|another|other|some|half|part|most|\d)\b)|(?<!\b(?:once|when|until|till|after|before|if|whether|as soon as) )\b(?:it|this|that|the (?:debt|balance|account|bill|loan)|this (?:debt|account|bill)|that (?:debt|account|bill)) (?:was|has been|had been|were) (?:already )?(?:paid|settled|taken care of)\b/,
  },
  {
    intent: 'dispute',
    id: 'dispute.es',
    pattern:
      /\bno (?:es|son) mi(?:s)? (?:deuda|deudas|cuenta|cuentas)\b|\b(?:esa|esta|la) (?:deuda|cuenta) no es mia\b|\bno (?:es|son) (?:mia|mio|mias|mios)\b|\bnoes mi[ao]\b|\bno (?:le |les |te )?debo\b(?! pagar)|\bno reconozc[oa] (?:esa|esta|la|ninguna|su) (?:deuda|cuenta|cargo|compania|empresa)\b|\bnunca (?:tuve|abri|he tenido|he abierto|saque) (?:esa|esta|una|ninguna|alguna) (?:cuenta|tarjeta|prestamo)\b|\bno tengo (?:ninguna|una) cuenta con (?:ustedes|ud|usted|su (?:empresa|compania))\b|\b(?:disput(?:o|a|ar|amos)|impugn(?:o|ar))\b/,
  },
  {
    intent: 'dispute',
    id: 'dispute.es_paid',
    unless: 'part',
    pattern:
      /\bya (?:(?:la|lo|las|los|le|les) )?(?:pague|page|pagamos|liquide|liquidamos|salde|saldamos|cubri)\b(?! (?:la mitad|una parte|parte|algo|el primer|la primera|un pago|una cuota|la cuota|esta semana|este mes|\d))|\bya se (?:pago|liquido|saldo)\b|\bya (?:esta|estan|fue|fueron|quedo) (?:pagad[oa]s?|liquidad[oa]s?|saldad[oa]s?)\b|\b(?:esa|esta|la) (?:deuda|cuenta) (?:ya )?(?:esta|fue|quedo) (?:pagada|liquidada|saldada)\b|\b(?:la|lo) (?:pague|liquide|salde) (?:hace|el ano|en|desde)\b|\bpague (?:todo|la deuda|el total|completo|toda la deuda)\b/,
  },
  {
    intent: 'dispute',
    id: 'dispute.es_proof',
    pattern:
      /\b(?:pruebe(?:lo|nlo)?|demuestre(?:nlo)?|comprueben(?:lo)?)\b|\b(?:quiero|necesito|mandenme|envienme) (?:pruebas|prueba|comprobante|verificacion|validacion)\b|\b(?:monto|cantidad|saldo) (?:incorrect[oa]|equivocad[oa])\b|\b(?:es (?:una )?estafa|fraude|robo de identidad|persona equivocada|(?:se )?equivocaron de persona)\b/,
  },
  // supervisor_request: asks for someone above the agent, or a person at all
  {
    intent: 'supervisor_request',
    id: 'supervisor_request.talk_to',
    pattern:
      /\b(?:talk|speak|speek|spk|tlk|talking|speaking|chat) (?:to|with|w) (?:a |an |the |your |ur |some |someone |somebody )?(?:supervisor|supervisr|superviser|supervizor|suppervisor|manager|manger|managr|boss|higher up|someone in charge|person in charge|someone higher up|real person|real human|human|live person|live agent|representative)\b/,
  },
  { intent: 'supervisor_request', id: 'supervisor_request.word', pattern: /(?<!\bmy )\b(?:supervis\w*|superviser|supervizor|supervisr|superbisor)\b|\b(?:your|ur|a|the) (?:manager|managr|boss)\b/ },
  {
    intent: 'supervisor_request',
    id: 'supervisor_request.es',
    pattern:
      /\b(?:hablar|comunicarme|platicar|hable|hablo|hablarle) con (?:un |una |el |la |su |algun |alguna )?(?:supervisor|supervisora|superbisor|gerente|jefe|jefa|encargad[oa]|responsable|persona real|humano|persona|agente|representante|alguien)\b|(?<!\b(?:mi|my) )\b(?:supervisor(?:a|es)?|superbisor|gerente)\b/,
  },
  // hostile: insults and threats; a person answers, never a template
  {
    intent: 'hostile',
    id: 'hostile.insult',
    pattern:
      /\b(?:fuck\w*|fck\w*|fuk\w*|fuq\w*|f ck\w*|f u|f you|stfu|wtf|shit\w*|sh t|bitch\w*|b tch\w*|bastards?|assholes?|a holes?|idiots?|idiotic|stupid|stupit|dumbass\w*|morons?|scum\w*|crooks?|thie(?:f|ves)|leeches|vultures|bloodsuckers|losers?|jerks?|pieces? of (?:shit|crap|garbage)|damn you|screw you|go to hell|eat shit|dickhead\w*|prick|cunt\w*|motherf\w*|mofo|scammers?)\b/,
  },
  {
    intent: 'hostile',
    id: 'hostile.threat',
    pattern:
      /\b(?:i|ill|i will|im going to|im gonna|gonna|i am going to|going to) (?:kill|hurt|shoot|find|come for|beat|stab|burn) (?:you|u|ya|your|yall|everyone)\b|\byou(?:ll| will) (?:regret|pay for) (?:this|it)\b|\bwatch your back\b|\bi know where you (?:live|work)\b/,
  },
  {
    intent: 'hostile',
    id: 'hostile.es_insult',
    pattern:
      /\b(?:pendej\w*|pinche\w*|cabron\w*|idiota\w*|estupid\w*|mierda|ladron\w*|rateros?|ratas|chinga\w*|chingue\w*|puta\w*|puto\w*|imbecil\w*|malditos?|malditas?|sinverguenzas?|estafadores|hijos? de (?:puta|perra)|hdp|vete al (?:diablo|carajo|demonio)|vayanse al (?:diablo|carajo)|carajo|culero\w*|mamones|baboso\w*|tarado\w*|jodan(?:se)?|gilipollas)\b/,
  },
  {
    intent: 'hostile',
    id: 'hostile.es_threat',
    pattern: /\b(?:te|los|les|lo|las) (?:voy|vamos) a (?:matar|encontrar|buscar|romper|partir|golpear|quemar)\b|\bse van a arrepentir\b|\bse (?:la|las) van a ver conmigo\b/,
  },
];

/** Opt-out first (it wins over everything), then the human-only intents in their order of severity. */
const ORDER: readonly Intent[] = ['opt_out', ...HUMAN_ONLY_INTENTS];

export interface LegalDetection {
  /** Opt-out and human-only intents found, in ORDER. */
  intents: Intent[];
  /** Rule ids that matched, as `rule:<id>`. */
  matched: string[];
}

export function detectLegalIntents(texts: readonly string[]): LegalDetection {
  const found = new Set<Intent>();
  const matched: string[] = [];
  const note = (intent: Intent, id: string) => {
    found.add(intent);
    if (!matched.includes(`rule:${id}`)) matched.push(`rule:${id}`);
  };
  for (const text of texts) {
    // The machine's own detector, so a draft routes to optedOut on exactly what stops a send.
    const optOut = detectOptOut(text);
    if (optOut) note('opt_out', optOut);
    // Both forms: as typed ("dont"), and with contractions written out and typos folded ("do not").
    const forms = [bareWords(text), plainWords(text)];
    const aboutAPart = forms.some((form) => PART_OF_IT.test(form));
    for (const rule of LEGAL_RULES) {
      if (rule.unless === 'part' && aboutAPart) continue;
      if (forms.some((form) => rule.pattern.test(form))) note(rule.intent, rule.id);
    }
  }
  return { intents: ORDER.filter((intent) => found.has(intent)), matched };
}
