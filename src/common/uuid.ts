const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `text` has a UUID's form: ids are checked before they reach a uuid column, which would refuse them with an error (a 500). */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}
