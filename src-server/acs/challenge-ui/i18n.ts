/** Challenge page texts. The locale comes from the AReq browserLanguage (BCP 47), English by default. */
export type Locale = 'en' | 'fr' | 'de'

export interface Texts {
  title: string
  intro: (merchant: string, amount: string) => string
  codeSentTo: (destination: string) => string
  codeLabel: string
  submit: string
  resend: string
  cancel: string
  wrongCode: (attemptsLeft: number) => string
  codeResent: string
  codeExpired: string
  waitingTitle: string
  waitingText: string
  reference: string
  continue: string
  redirecting: string
  continueWithoutScript: string
  /** The trust-list offer beside the code entry. */
  trustMerchant: (merchant: string) => string
  /** The same offer without the name, where the name would not fit (the app's 64-character whitelistingInfoText). */
  trustThisMerchant: string
  /** The final page when it offers the mobile authenticator (activation QR code) before returning. */
  confirmedTitle: string
  activationOffer: string
  activationQrAlt: string
  activationOnThisPhone: string
  activationNote: (minutes: number) => string
  backToMerchant: string
}

const TEXTS: Record<Locale, Texts> = {
  en: {
    title: 'Confirm your payment',
    intro: (m, a) => `Payment of ${a} to ${m}`,
    codeSentTo: (d) => `We sent a one-time code to ${d}.`,
    codeLabel: 'One-time code',
    submit: 'Submit',
    resend: 'Resend code',
    cancel: 'Cancel',
    wrongCode: (n) => (n === 1 ? 'Incorrect code. 1 attempt left.' : `Incorrect code. ${n} attempts left.`),
    codeResent: 'A new code has been sent.',
    codeExpired: 'The code has expired. Request a new one.',
    waitingTitle: 'Waiting for your reply',
    waitingText: 'Reply to the message from your bank on your phone, then press Continue.',
    reference: 'Reference',
    continue: 'Continue',
    redirecting: 'Returning to the merchant…',
    continueWithoutScript: 'Continue',
    trustMerchant: (m) => `Trust ${m} — skip the code next time`,
    trustThisMerchant: 'Trust this merchant — skip the code next time',
    confirmedTitle: 'Payment confirmed',
    activationOffer:
      'Next time, approve with your phone instead of typing a code: scan this QR code with your phone’s camera to set up the authenticator.',
    activationQrAlt: 'QR code to set up the authenticator',
    activationOnThisPhone: 'Set up on this phone',
    activationNote: (m) => `The code works once, for ${m} minutes. We will text you a code to confirm.`,
    backToMerchant: 'Return to the merchant',
  },
  fr: {
    title: 'Confirmez votre paiement',
    intro: (m, a) => `Paiement de ${a} à ${m}`,
    codeSentTo: (d) => `Nous avons envoyé un code à usage unique au ${d}.`,
    codeLabel: 'Code à usage unique',
    submit: 'Valider',
    resend: 'Renvoyer le code',
    cancel: 'Annuler',
    wrongCode: (n) =>
      n === 1 ? 'Code incorrect. Il reste 1 essai.' : `Code incorrect. Il reste ${n} essais.`,
    codeResent: 'Un nouveau code a été envoyé.',
    codeExpired: 'Le code a expiré. Demandez-en un nouveau.',
    waitingTitle: 'En attente de votre réponse',
    waitingText: 'Répondez au message de votre banque sur votre téléphone, puis appuyez sur Continuer.',
    reference: 'Référence',
    continue: 'Continuer',
    redirecting: 'Retour vers le marchand…',
    continueWithoutScript: 'Continuer',
    trustMerchant: (m) => `Faire confiance à ${m} — sans code la prochaine fois`,
    trustThisMerchant: 'Faire confiance à ce marchand — sans code la prochaine fois',
    confirmedTitle: 'Paiement confirmé',
    activationOffer:
      'La prochaine fois, validez avec votre téléphone au lieu de saisir un code : scannez ce QR code avec l’appareil photo de votre téléphone pour installer l’authentificateur.',
    activationQrAlt: 'QR code pour installer l’authentificateur',
    activationOnThisPhone: 'Installer sur ce téléphone',
    activationNote: (m) =>
      `Ce code est valable une fois, pendant ${m} minutes. Nous vous enverrons un code par SMS pour confirmer.`,
    backToMerchant: 'Retour au marchand',
  },
  de: {
    title: 'Bestätigen Sie Ihre Zahlung',
    intro: (m, a) => `Zahlung von ${a} an ${m}`,
    codeSentTo: (d) => `Wir haben einen Einmalcode an ${d} gesendet.`,
    codeLabel: 'Einmalcode',
    submit: 'Bestätigen',
    resend: 'Code erneut senden',
    cancel: 'Abbrechen',
    wrongCode: (n) => (n === 1 ? 'Falscher Code. Noch 1 Versuch.' : `Falscher Code. Noch ${n} Versuche.`),
    codeResent: 'Ein neuer Code wurde gesendet.',
    codeExpired: 'Der Code ist abgelaufen. Fordern Sie einen neuen an.',
    waitingTitle: 'Warten auf Ihre Antwort',
    waitingText: 'Beantworten Sie die Nachricht Ihrer Bank auf Ihrem Telefon und tippen Sie dann auf Weiter.',
    reference: 'Referenz',
    continue: 'Weiter',
    redirecting: 'Zurück zum Händler…',
    continueWithoutScript: 'Weiter',
    trustMerchant: (m) => `${m} vertrauen – nächstes Mal ohne Code`,
    trustThisMerchant: 'Diesem Händler vertrauen – nächstes Mal ohne Code',
    confirmedTitle: 'Zahlung bestätigt',
    activationOffer:
      'Bestätigen Sie das nächste Mal mit Ihrem Telefon statt mit einem Code: Scannen Sie diesen QR-Code mit der Kamera Ihres Telefons, um den Authenticator einzurichten.',
    activationQrAlt: 'QR-Code zum Einrichten des Authenticators',
    activationOnThisPhone: 'Auf diesem Telefon einrichten',
    activationNote: (m) =>
      `Der Code gilt einmal, ${m} Minuten lang. Zur Bestätigung senden wir Ihnen einen Code per SMS.`,
    backToMerchant: 'Zurück zum Händler',
  },
}

/** The locale of a language tag (`fr-CA`, `de`, `en_GB`), when we have its texts. */
export function supportedLocale(tag: string | undefined): Locale | undefined {
  const primary = (tag ?? '').trim().toLowerCase().split(/[-_]/)[0]
  return primary === 'en' || primary === 'fr' || primary === 'de' ? primary : undefined
}

export function localeFor(tag: string | undefined): Locale {
  return supportedLocale(tag) ?? 'en'
}

export function textsFor(locale: Locale): Texts {
  return TEXTS[locale]
}

/** The trust-list offer in at most `maxLength` characters: with the merchant's name when it fits. */
export function trustOfferText(locale: Locale, merchant: string, maxLength = Infinity): string {
  const t = TEXTS[locale]
  const named = t.trustMerchant(merchant)
  return named.length <= maxLength ? named : t.trustThisMerchant
}
