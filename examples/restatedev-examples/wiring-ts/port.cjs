// Preload (node --require): the examples listen on a fixed 9080; the harness hands each
// service its port in $PORT. Rewrites a listen on 9080 to $PORT, nothing else.
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args[0] === 9080 || (args[0] && args[0].port === 9080)) {
    const port = Number(process.env.PORT);
    if (typeof args[0] === "object") args[0] = { ...args[0], port, host: "127.0.0.1" };
    else args = [port, "127.0.0.1", ...args.slice(1).filter((a) => typeof a === "function")];
  }
  return listen.apply(this, args);
};
