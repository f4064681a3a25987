/** The languages the transcriber knows (server/transcription/languages.ts), named in the visitor's language. */
export const LANGUAGES: readonly string[] = (
  'en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et ' +
  'mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su yue'
)
  .split(' ')
  .sort((a, b) => languageName(a).localeCompare(languageName(b)));

/** "de" → "German" (the code itself where the browser has no name for it); "auto" → "detected automatically". */
export function languageName(code: string): string {
  if (code === 'auto') return 'language detected automatically';
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}
