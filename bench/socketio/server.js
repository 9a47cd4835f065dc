// Reference peer for chatflow-load: the gateway design of the case study,
// a Socket.IO v4 chat server scaled out with the official Redis adapter.
// In memory, no persistence, no auth: every client names its user in the
// connect payload (`40{"user":"u7"}`) and joins the room of that name.
//
//   PORT=3000 REDIS_URL=redis://127.0.0.1:6390 node server.js
//
// Events: `msg` {to, id, body} is relayed to room `to` as `msg`
// {from, id, body}; `ack` {id} is counted (like a ChatFlow receiver's ack).
"use strict";

const { createServer } = require("node:http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const port = Number(process.env.PORT || 3000);
const redisUrl = process.env.REDIS_URL || "redis://127.0.0.1:6379";

async function main() {
  const pubClient = createClient({ url: redisUrl });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);

  const httpServer = createServer();
  const io = new Server(httpServer, {
    transports: ["websocket"],
    serveClient: false,
    adapter: createAdapter(pubClient, subClient),
  });

  let relayed = 0;
  let acked = 0;
  io.on("connection", (socket) => {
    const user = socket.handshake.auth && socket.handshake.auth.user;
    if (typeof user !== "string" || user.length === 0) {
      socket.disconnect(true);
      return;
    }
    socket.join(user);
    socket.on("msg", (m) => {
      if (!m || typeof m.to !== "string") return;
      relayed += 1;
      io.to(m.to).emit("msg", { from: user, id: m.id, body: m.body });
    });
    socket.on("ack", () => {
      acked += 1;
    });
  });

  httpServer.listen(port, "127.0.0.1", () => {
    console.log(`socket.io peer listening on ws://127.0.0.1:${port}`);
  });

  const stop = () => {
    console.log(`relayed=${relayed} acked=${acked}`);
    io.close();
    Promise.allSettled([pubClient.quit(), subClient.quit()]).then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
