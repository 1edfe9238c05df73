/** An absolute file path in a library's message ("Load model from /store/tmp/….part failed"). */
const SERVER_PATH = /(^|[\s'"(])\/[^\s'"]*\/[^\s'":]*/g;

/** A message fit for a client: the server's file paths replaced by `<artifact>` (logs keep the original). */
export function withoutServerPaths(message: string): string {
  return message.replace(SERVER_PATH, '$1<artifact>');
}
