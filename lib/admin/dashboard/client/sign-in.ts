/// <reference lib="dom" />
/** The sign-in page's script (self-contained, see dom.ts). */

/** A refused key is forgotten; a key this tab already holds opens the dashboard without asking again. */
export function signIn(storageKey: string, refused: boolean): void {
  if (refused) {
    sessionStorage.removeItem(storageKey);
    return;
  }
  const key = sessionStorage.getItem(storageKey);
  if (key) location.replace(location.pathname + '?code=' + encodeURIComponent(key));
}
