/**
 * The chart runs the images as the Dockerfile builds them: the same command from the image's
 * working directory, as the image's user, and files it points a service at (kafkastore's GeoIP
 * databases) are in that service's image or on a volume.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandArgv, finalStage, flattened, lastArgs, workdirOf } from '../src/compose-dockerfile.js';
import { imageHolds, readDockerfile, serviceDockerfile } from '../src/compose-image-checks.js';
import { layouts } from '../src/k8s-helm.js';
import { readLayoutObjects } from '../src/k8s-manifests.js';
import { envValue, podContainers, serviceOf, workloads } from '../src/k8s-workloads.js';

const REGISTRY = 'ghcr.io/pushtech';
/** The uid of the `node` user of the official Node images, which the Dockerfile switches to. */
const NODE_UID = 1000;

describe('the manifests run the images as the Dockerfile builds them', () => {
  const text = readDockerfile();
  for (const layout of layouts) {
    it(`${layout.dir.split('/').at(-1)}/: command, working directory, user, files in the image`, () => {
      let seen = 0;
      let geoipFiles = 0;
      for (const w of workloads(readLayoutObjects(layout.dir))) {
        for (const { container } of podContainers(w.spec)) {
          const service = serviceOf(container, REGISTRY);
          if (!service) continue;
          seen += 1;
          const where = `${w.object.metadata.name}/${container.name}`;
          const image = flattened(serviceDockerfile(text, service), finalStage(serviceDockerfile(text, service)));
          const cmd = commandArgv(lastArgs(image, 'CMD') ?? '[]');
          if (container.command) assert.deepEqual([...container.command, ...(container.args ?? [])], cmd, where);
          assert.ok(container.workingDir === undefined || container.workingDir === workdirOf(image), where);
          assert.equal(lastArgs(image, 'USER'), 'node');
          const uid = container.securityContext?.runAsUser ?? w.spec.securityContext?.runAsUser;
          assert.ok(uid === undefined || uid === NODE_UID, `${where}: runs as ${uid}, the image's user is ${NODE_UID}`);

          const mounts = (container.volumeMounts ?? []).map((m) => m.mountPath);
          const inImage = imageHolds(`services/${service}`);
          const geoip = service === 'kafkastore' ? (envValue(container, 'GEOIP_DB') ?? '') : '';
          for (const file of geoip.split(',').filter(Boolean)) {
            geoipFiles += 1;
            assert.ok(
              inImage(file) || mounts.some((m) => file.startsWith(`${m}/`)),
              `${where}: GEOIP_DB ${file} is neither in the image nor mounted`,
            );
          }
        }
      }
      assert.ok(seen >= 4, `${layout.dir}: service containers found`);
      assert.ok(geoipFiles >= 2, `${layout.dir}: kafkastore's GEOIP_DB files found`);
    });
  }
});
