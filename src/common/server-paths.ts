/** An absolute file path in a library's message ("Load model from /store/tmp/….part failed"). */
const SERVER_PATH = /(^|[\s'"(])\/[^\s'"]*\/[^\s'":]*/g;

/**
 * Where in onnxruntime's C++ sources an error was raised, and the function's signature
 * ("/onnxruntime_src/…/reshape_helper.h:91 onnxruntime::ReshapeHelper::ReshapeHelper(const …&, bool) "):
 * noise to a client, in front of the part that says what went wrong.
 */
const RUNTIME_SOURCE_LOCATION = /\/onnxruntime_src\/[^\s:]+:\d+ [^()\n]{0,300}\([^)\n]{0,500}\)(?: const)? ?/g;
/** The short form some messages carry: a file name, its line and the function ("tensor.cc:57 CalculateTensorStorageSize "). */
const RUNTIME_SHORT_LOCATION = /(^|[\s:])[\w-]+\.(?:cc|cpp|h):\d+ [A-Za-z_][\w:~]* /g;

/**
 * A message fit for a client: the server's file paths replaced by `<artifact>` and onnxruntime's
 * source locations left out (logs keep the original).
 */
export function withoutServerPaths(message: string): string {
  return withoutRuntimeSourceLocations(message).replace(SERVER_PATH, '$1<artifact>');
}

/** onnxruntime's message without its source locations (file paths elsewhere kept, for the server's own log). */
export function withoutRuntimeSourceLocations(message: string): string {
  return message.replace(RUNTIME_SOURCE_LOCATION, '').replace(RUNTIME_SHORT_LOCATION, '$1');
}

/**
 * The first line of a runtime message, at most `max` characters, fit for a client. Cut only once the
 * source location is gone: a C++ signature can take hundreds of characters ahead of what went wrong.
 */
export function clientReason(message: string, max = 500): string {
  return withoutServerPaths(message).split('\n')[0].slice(0, max);
}
