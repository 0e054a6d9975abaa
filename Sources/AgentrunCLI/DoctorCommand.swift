import AgentrunOS
import AgentrunPolicy
import AgentrunSandbox
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `agentrun doctor`: what this host supports, what does not work, and the exact fix.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this host; exit non-zero when the default profile cannot be enforced here."
    )

    func run() throws {
        let host = HostInfo.current()
        Console.out("agentrun \(AgentrunVersion.current) doctor: kernel \(host.kernelRelease), running as \(host.isRoot ? "root" : "uid \(host.uid)")")
        let checks = HostChecks.all(host: host)
        for check in checks {
            Console.out("  \(check.status.label)  \(check.name): \(check.detail)")
            if let fix = check.fix { Console.out("         fix: \(fix)") }
        }

        // The decisive check: start the default profile for real.
        let endToEnd = HostChecks.launchDefaultProfile(host: host)
        Console.out("  \(endToEnd.status.label)  \(endToEnd.name): \(endToEnd.detail)")
        if let fix = endToEnd.fix { Console.out("         fix: \(fix)") }
        if endToEnd.status == .fail {
            Console.out("the default profile cannot be enforced on this host")
            throw ExitCode(1)
        }
        Console.out("the default profile can be enforced on this host")
    }
}
