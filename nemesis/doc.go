// Package nemesis injects faults into a lab cluster and records each one in
// the history, in the manner of Jepsen's nemesis.
//
// Four faults can be combined on one seeded schedule:
//
//   - partition: iptables DROP rules inside each node's network namespace,
//     in a chain of our own (Chain) jumped to from INPUT. Shapes: halves,
//     random-halves, one, leader, bridge, majorities-ring. Heal flushes only
//     our chain. The controller (the host) is never cut.
//   - kill: SIGKILL of the node process on chosen targets (one, leader,
//     minority, majority, all); stop restarts every killed node and re-applies
//     the partition in force on it.
//   - pause: freeze the same kinds of targets; stop resumes them.
//   - clock: the node's injectable clock: bump (a jump of up to a few
//     seconds either way), strobe (jumps back and forth for a few seconds),
//     rate (run fast or slow); stop resets the clocks.
//
// Decisions are pure functions with table tests (MakeCut, Targets,
// PlanClock, Schedule, ParseFaults, GrudgeCommands); the Nemesis type applies
// them to a Cluster, an interface the lab implements with Docker, and records
// every action as a pair of info ops of the nemesis process (invocation, then
// completion saying what was done, with an Error if it failed). Drops reads
// back the rules in force on a node, for tests on real containers. Typical use:
//
//	faults, err := nemesis.ParseFaults("partition,kill")
//	steps := nemesis.Schedule(seed, faults, 10*time.Second, timeLimit)
//	n := nemesis.New(cluster, recorder)
//	err = n.Run(ctx, steps)         // returns when the steps are done or ctx ends
//	n.HealAll(context.Background()) // always: leaves nothing faulty
package nemesis
