/** Preloaded into a measured process (`node --import`): reports its peak resident memory on exit. */
process.on('exit', () => {
  process.stderr.write(`acr-trust-bench-maxrss=${process.resourceUsage().maxRSS}\n`);
});
