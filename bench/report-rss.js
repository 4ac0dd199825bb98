/** Preloaded into a measured process (`node --import`): reports its peak resident memory and CPU time on exit. */
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`acr-trust-bench-maxrss=${u.maxRSS}\nacr-trust-bench-cpu-us=${u.userCPUTime + u.systemCPUTime}\n`);
});
