import AgentrunCLI
import AgentrunSandbox

#if canImport(Glibc)
import Glibc
#endif

// Block the signals the supervisor forwards before any thread exists, so that every thread
// inherits the mask and they are only ever read from the supervisor's signalfd.
Supervisor.blockForwardedSignals()
// A provenance write beyond RLIMIT_FSIZE must fail with EFBIG (and stop the run, fail closed)
// rather than kill agentrun with SIGXFSZ. The sandbox gets default dispositions back.
signal(SIGXFSZ, SIG_IGN)
// A pipe whose reader died (the sandbox's sync pipe, a closed stdout) is an error to handle,
// not a reason to die. The sandbox gets default dispositions back.
signal(SIGPIPE, SIG_IGN)

// The hot path (`agentrun -- cmd`) skips ArgumentParser's start-up cost; everything else,
// including every error and help text, goes through ArgumentParser.
if let options = FastRunParser.parse(Array(CommandLine.arguments.dropFirst())) {
    exit(options.execute())
}
AgentrunCommand.main()
