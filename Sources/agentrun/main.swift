import AgentrunCLI
import AgentrunSandbox

#if canImport(Glibc)
import Glibc
#endif

// Block the signals the supervisor forwards before any thread exists, so that every thread
// inherits the mask and they are only ever read from the supervisor's signalfd.
Supervisor.blockForwardedSignals()

// The hot path (`agentrun -- cmd`) skips ArgumentParser's start-up cost; everything else,
// including every error and help text, goes through ArgumentParser.
if let options = FastRunParser.parse(Array(CommandLine.arguments.dropFirst())) {
    exit(options.execute())
}
AgentrunCommand.main()
