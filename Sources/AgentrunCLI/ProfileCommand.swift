import AgentrunPolicy
import ArgumentParser

/// `agentrun profile list | show | check`
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "List, show and check profiles.",
        subcommands: [List.self, Show.self, Check.self]
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
                Console.out("# profile \(resolved.name) from \(resolved.source), resolved from: \(resolved.lineage.joined(separator: " -> "))")
                Console.out(resolved.renderYAML())
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

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
