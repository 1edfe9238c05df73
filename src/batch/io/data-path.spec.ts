import * as fs from 'node:fs';
import * as path from 'node:path';
import { useTempDir } from '../../../test/support/temp-dir';
import { checkRelativeUri, InputScope, resolveInputPath } from './data-path';

describe('resolveInputPath', () => {
  const tmp = useTempDir('mms-datapath-');
  const data = () => path.join(tmp(), 'data');
  beforeEach(() => {
    fs.mkdirSync(path.join(data(), 'in'), { recursive: true });
    fs.writeFileSync(path.join(data(), 'in', 'ok.csv'), 'a\n');
    fs.writeFileSync(path.join(tmp(), 'outside.csv'), 'a\n');
  });
  const scope: InputScope = { tenantId: 'tenant-a-id', otherTenants: new Set(['acme', 'globex']), privateDirs: [] };
  const code = (uri: string, within: InputScope = scope) => resolveInputPath(data(), uri, within).then(
    () => 'ok',
    (e: { code: string }) => e.code,
  );

  it('resolves files inside the data directory, also through symlinks that stay inside', async () => {
    fs.symlinkSync(path.join(data(), 'in', 'ok.csv'), path.join(data(), 'alias.csv'));
    expect(await resolveInputPath(data(), 'in/ok.csv', scope)).toBe(fs.realpathSync(path.join(data(), 'in', 'ok.csv')));
    expect(await code('./in/../in/ok.csv')).toBe('ok');
    expect(await code('alias.csv')).toBe('ok');
  });

  it('refuses escapes: .., absolute paths, URLs, symlinked files and directories, dangling links', async () => {
    fs.symlinkSync(path.join(tmp(), 'outside.csv'), path.join(data(), 'link.csv'));
    fs.symlinkSync(tmp(), path.join(data(), 'dirlink'));
    fs.symlinkSync(path.join(tmp(), 'nowhere.csv'), path.join(data(), 'dangling.csv'));
    for (const uri of ['../outside.csv', 'in/../../outside.csv', path.join(tmp(), 'outside.csv'), 'file:///etc/passwd', 'link.csv', 'dirlink/outside.csv', 'dangling.csv', 'in\0.csv']) {
      expect([uri, await code(uri)]).toEqual([uri, 'INVALID_INPUT_URI']);
    }
  });

  it("refuses the platform's own files, other tenants' job files and folders, whether or not the file is there", async () => {
    const write = (rel: string) => {
      fs.mkdirSync(path.dirname(path.join(data(), rel)), { recursive: true });
      fs.writeFileSync(path.join(data(), rel), 'a\n');
    };
    for (const rel of ['pg/base/1/1259', 'LOCK', 'token-signing.key', 'root-token.sha256', 'batch/tenant-b-id/job/output-1/output.csv', 'acme/sales.csv', 'store/sha256/abc', 'mine/sales.csv', 'batch/tenant-a-id/job/output-1/output.csv']) write(rel);
    fs.symlinkSync(path.join(data(), 'acme', 'sales.csv'), path.join(data(), 'in', 'sneaky.csv'));
    const withStore = { ...scope, privateDirs: [fs.realpathSync(path.join(data(), 'store'))] };
    for (const uri of ['pg/base/1/1259', 'LOCK', 'token-signing.key', 'root-token.sha256', 'batch/tenant-b-id/job/output-1/output.csv', 'batch/no-such-id/x.csv', 'store/sha256/abc']) {
      expect([uri, await code(uri, withStore)]).toEqual([uri, 'INVALID_INPUT_URI']);
    }
    // Another tenant's folder answers as a missing file does (whether it is there or not, and
    // through a link), so that no answer tells which names are tenants.
    const message = (uri: string) => resolveInputPath(data(), uri, withStore).then(() => 'ok', (e: { code: string; message: string }) => `${e.code}: ${e.message.replace(uri, '…')}`);
    const missing = await message('nosuchtenant/sales.csv');
    expect(missing).toMatch(/^INPUT_NOT_FOUND: /);
    for (const uri of ['acme/sales.csv', 'acme/missing.csv', 'globex/anything.csv', 'in/sneaky.csv']) expect([uri, await message(uri)]).toEqual([uri, missing]);
    // The model store answers as the platform's whether or not a tenant is named like its folder.
    expect(await code('store/sha256/abc', { ...withStore, otherTenants: new Set([...withStore.otherTenants, 'store']) })).toBe('INVALID_INPUT_URI');
    // Its own folder, its own job outputs and the shared files stay readable.
    for (const uri of ['mine/sales.csv', 'batch/tenant-a-id/job/output-1/output.csv', 'in/ok.csv']) expect([uri, await code(uri, withStore)]).toEqual([uri, 'ok']);
  });

  it('tells a missing file and a directory apart from an escape', async () => {
    expect(await code('in/missing.csv')).toBe('INPUT_NOT_FOUND');
    expect(await code('in')).toBe('INVALID_INPUT_URI');
  });
});

describe('checkRelativeUri', () => {
  it('checks a URI without the file (schedules)', () => {
    expect(() => checkRelativeUri('in/sales-{date}.csv', 't1')).not.toThrow();
    for (const uri of ['../x.csv', '/etc/passwd', 's3://bucket/x.csv', 'a/../../x.csv']) expect(() => checkRelativeUri(uri, 't1')).toThrow('input.uri');
  });

  it("refuses the platform's own files and other tenants' job files, which no run could read, and takes the tenant's own job files", () => {
    for (const uri of ['root-token.sha256', 'token-signing.key', 'LOCK', 'pg/{date}', './pg/base', 'batch/t2/job/output.csv']) {
      expect(() => checkRelativeUri(uri, 't1')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT_URI', message: expect.stringContaining('is off limits') }));
    }
    expect(() => checkRelativeUri('batch/t1/{date}/output.csv', 't1')).not.toThrow();
  });
});
