// The ceiling: a uWebSockets.js server that answers every pixel with 204 and does nothing else.
import uWS from 'uWebSockets.js';

const port = Number(process.env['PORT'] ?? 0);
uWS
  .App()
  .any('/*', (res) => {
    res.writeStatus('204 No Content').endWithoutBody();
  })
  .listen('127.0.0.1', port, (socket) => {
    if (!socket) process.exit(1);
    process.stdout.write(`listening ${uWS.us_socket_local_port(socket)}\n`);
  });
process.on('SIGTERM', () => process.exit(0));
