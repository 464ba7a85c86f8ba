/**
 * The Grafana dashboards follow the classic JSON model Grafana imports (schemaVersion 39): a
 * uid each, a Prometheus datasource variable every query uses, a unit on every panel, panels
 * laid out on the 24-column grid without overlap. Whether their queries run and return data is
 * checked against a real Prometheus in queries.test.ts.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { allPanels, loadDashboards } from '../src/dashboards.js';

const dir = fileURLToPath(new URL('../../../monitoring/dashboards/', import.meta.url));
const dashboards = loadDashboards(dir);

describe('Grafana dashboards (monitoring/dashboards)', () => {
  it('the overview and one per service, each with its own uid', () => {
    assert.deepEqual(
      [...dashboards.keys()],
      ['consumers.json', 'kafidx.json', 'kafkastore.json', 'overview.json', 'tracker.json'],
    );
    const uids = [...dashboards.values()].map((d) => d.uid);
    assert.equal(new Set(uids).size, uids.length, `unique uids: ${uids.join(', ')}`);
  });

  for (const [file, dashboard] of dashboards) {
    it(`${file}: classic JSON model, datasource variable, units, layout`, () => {
      assert.equal(dashboard.schemaVersion, 39);
      assert.match(dashboard.uid, /^[a-zA-Z0-9_-]{1,40}$/, 'a uid Grafana accepts');
      const variables = dashboard.templating.list;
      assert.deepEqual(
        variables.filter((v) => v.type === 'datasource').map((v) => v.name),
        ['datasource'],
      );
      const panels = allPanels(dashboard);
      const ids = panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
      const cells = new Set<string>();
      for (const panel of panels) {
        const grid = (panel as { gridPos?: { x: number; y: number; w: number; h: number } }).gridPos;
        assert.ok(grid, `${panel.title}: gridPos`);
        assert.ok(grid.x >= 0 && grid.w > 0 && grid.x + grid.w <= 24, `${panel.title}: inside the 24 columns`);
        for (let x = grid.x; x < grid.x + grid.w; x += 1) {
          for (let y = grid.y; y < grid.y + grid.h; y += 1) {
            assert.ok(!cells.has(`${x},${y}`), `${panel.title} overlaps another panel at ${x},${y}`);
            cells.add(`${x},${y}`);
          }
        }
        if (panel.type === 'row') continue;
        assert.ok(panel.fieldConfig?.defaults?.unit, `${panel.title}: a unit`);
        assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, panel.title);
        assert.ok((panel.targets ?? []).length > 0, `${panel.title}: a query`);
        const refIds = (panel.targets ?? []).map((t) => t.refId);
        assert.equal(new Set(refIds).size, refIds.length, `${panel.title}: unique refIds`);
        for (const target of panel.targets ?? []) {
          assert.ok(target.expr.trim() !== '', `${panel.title} ${target.refId}: an expression`);
          // Every variable a query uses is defined (or one of Grafana's own).
          for (const [, name] of target.expr.matchAll(/\$\{?(\w+)/g)) {
            assert.ok(
              name?.startsWith('__') || variables.some((v) => v.name === name),
              `${file} ${panel.title}: $${name} is not a variable of the dashboard`,
            );
          }
        }
      }
      assert.equal(path.extname(file), '.json');
    });
  }
});
