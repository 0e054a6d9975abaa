import AgentrunOS
import AgentrunPolicy
import AgentrunSandbox
import AgentrunSeccomp
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `agentrun profile list | show | explain | check`
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "List, show and check profiles.",
        subcommands: [List.self, Show.self, Explain.self, Check.self, Seccomp.self]
    )

    static func store() -> ProfileStore {
        ProfileStore(searchPaths: ProfileStore.defaultSearchPaths(environment: HostEnvironment.current()))
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List built-in and on-disk profiles.")

        func run() throws {
            let store = ProfileCommand.store()
            let rows = store.list()
            let width = rows.map(\.name.count).max() ?? 4
            for row in rows {
                let name = row.name.padding(to: width)
                let shadow = row.shadows ? " (overrides an earlier profile of this name)" : ""
                Console.out("\(name)  \(row.description)  [\(row.source)]\(shadow)")
            }
            Console.out("search path: \(store.searchPaths.joined(separator: ":")) then built-in")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a profile fully resolved (after `extends`).")

        @Argument(help: ArgumentHelp("Profile name or path.", valueName: "NAME_OR_PATH"))
        var profile: String

        func run() throws {
            do {
                let resolved = try ProfileCommand.store().load(profile)
                Console.out(resolved.renderYAML())
            } catch {
                Console.error("agentrun: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarise what a profile allows (files, network, limits, credentials, tools), for approving it.")

        @Argument(help: ArgumentHelp("Profile name or path.", valueName: "NAME_OR_PATH"))
        var profile: String

        func run() throws {
            do {
                Console.out(try ProfileCommand.store().load(profile).explanation())
            } catch {
                Console.error("agentrun: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate profile files; exit 1 if any is invalid.")

        @Argument(help: ArgumentHelp("Profile files.", valueName: "FILE"))
        var files: [String]

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one profile file") }
        }

        func run() throws {
            let store = ProfileCommand.store()
            var failed = false
            for file in files {
                let path = file.contains("/") ? file : "./" + file
                do {
                    let profile = try store.load(path)
                    Console.out("ok: \(file) (profile \(profile.name))")
                } catch {
                    Console.error("\(error)")
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}

extension ProfileCommand {
    struct Seccomp: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the seccomp filters a profile loads (libseccomp pseudo code), or export them as BPF."
        )

        @Argument(help: ArgumentHelp("Profile name or path.", valueName: "NAME_OR_PATH"))
        var profile: String = "default"

        @Option(help: ArgumentHelp("Write syscalls.bpf, arguments.bpf and, when the profile mediates syscalls, notify.bpf (struct sock_filter[]) into DIR.", valueName: "DIR"))
        var export: String?

        func run() throws {
            let filter: SeccompFilter
            do {
                let resolved = try ProfileCommand.store().load(profile)
                filter = try LaunchPlanner.seccompFilter(for: resolved, withPseudoCode: true)
            } catch {
                Console.error("agentrun: \(error)")
                throw ExitCode(1)
            }
            guard let export else {
                Console.out(filter.pseudoCode ?? "")
                return
            }
            var programs = [("syscalls.bpf", filter.syscallProgram), ("arguments.bpf", filter.argumentProgram)]
            if !filter.notifyProgram.isEmpty { programs.append(("notify.bpf", filter.notifyProgram)) }
            for (name, program) in programs where !program.isEmpty {
                let path = export + "/" + name
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0 else {
                    Console.error("agentrun: cannot write \(path): \(Errno.describe(errno))")
                    throw ExitCode(1)
                }
                let ok = program.withUnsafeBytes { Files.writeAll(fd: fd, $0) }
                close(fd)
                if !ok { throw ExitCode(1) }
                Console.out("wrote \(path) (\(program.count / 8) instructions)")
            }
        }
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
