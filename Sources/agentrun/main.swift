import AgentrunCLI
import AgentrunSandbox

// Block the signals the supervisor forwards before any thread exists, so that every thread
// inherits the mask and they are only ever read from the supervisor's signalfd.
Supervisor.blockForwardedSignals()
AgentrunCommand.main()
