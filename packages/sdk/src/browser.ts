// The `<script>` build's entry: the default client's functions as `window.pushtech`.
import { flush, init, shutdown, stats, track } from './index.js';

(globalThis as { pushtech?: unknown }).pushtech = { init, track, flush, shutdown, stats };
