import AgentrunOS
import AgentrunProvenance
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `agentrun log verify | show | export | list | keygen`: the run logs (docs/provenance.md).
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Verify, show, export and list the provenance logs of runs.",
        subcommands: [Verify.self, Show.self, Export.self, List.self, Keygen.self]
    )

    static var stateRoot: String { RunDirectory.stateRoot(environment: HostEnvironment.current()) }

    /// A log path from a path (file or run directory) or a run id in the state directory.
    static func locate(_ pathOrRunID: String) throws -> String {
        guard let path = RunDirectory.resolve(pathOrRunID, root: stateRoot) else {
            Console.error("agentrun: no log at '\(pathOrRunID)' (a log file, a run directory, or a run id under \(stateRoot))")
            throw ExitCode(2)
        }
        return path
    }

    /// Every record of the log at `pathOrRunID`, or exit 1 saying why they cannot be read.
    static func records(_ pathOrRunID: String) throws -> [JSONValue] {
        let log = try locate(pathOrRunID)
        do {
            return try LogReader.records(path: log)
        } catch {
            Console.error("agentrun: \(error)")
            throw ExitCode(1)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a log's hash chain, checkpoints and signatures; exit 0 only when it is intact.")

        @Argument(help: ArgumentHelp("A log file, run directory or run id.", valueName: "PATH"))
        var path: String

        @Option(help: ArgumentHelp("The operator's Ed25519 public key (file or hex/base64): the run key must be certified by it.", valueName: "PUBKEY"))
        var key: String?

        func run() throws {
            let log = try LogCommand.locate(path)
            var operatorKey: OperatorPublicKey?
            if let key {
                do {
                    operatorKey = try OperatorPublicKey.load(key)
                } catch {
                    Console.error("agentrun: --key: \(error)")
                    throw ExitCode(2)
                }
            }
            let report = LogVerifier.verify(path: log, operatorKey: operatorKey)
            if report.intact {
                Console.out("\(log): intact, \(report.records) records, sealed" + (operatorKey != nil ? ", run key certified by the operator key" : ""))
                return
            }
            Console.out("\(log): NOT INTACT: \(report)")
            throw ExitCode(1)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a run's log as a timeline (or JSON lines).")

        @Argument(help: ArgumentHelp("A log file, run directory or run id.", valueName: "PATH_OR_RUN_ID"))
        var path: String

        @Option(help: ArgumentHelp("Only records of this kind (repeatable), e.g. process.exit.", valueName: "KIND"))
        var kind: [String] = []

        @Flag(help: "Print the records as JSON lines instead of a timeline.")
        var json = false

        func run() throws {
            let records = try LogCommand.records(path)
            let kinds = kind.isEmpty ? nil : Set(kind)
            if json {
                for record in records where kinds?.contains(record["kind"]?.stringValue ?? "") ?? true {
                    Console.out(String(decoding: CanonicalJSON.encode(record), as: UTF8.self))
                }
            } else {
                for line in Timeline.lines(records, kinds: kinds) { Console.out(line) }
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export a log for a SIEM: OCSF events or the raw JSON lines.")

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case ocsf
            case jsonl
        }

        @Argument(help: ArgumentHelp("A log file, run directory or run id.", valueName: "PATH"))
        var path: String

        @Option(help: "ocsf (one OCSF \(OCSFExport.version) event per line) or jsonl.")
        var format: Format

        func run() throws {
            let records = try LogCommand.records(path)
            // The exporter carries what session.start says (product version, host) to every event.
            var exporter = OCSFExport.Exporter()
            for record in records {
                switch format {
                case .jsonl:
                    Console.out(String(decoding: CanonicalJSON.encode(record), as: UTF8.self))
                case .ocsf:
                    if let event = exporter.event(for: record) {
                        Console.out(String(decoding: CanonicalJSON.encode(event), as: UTF8.self))
                    }
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the runs in the state directory, newest first.")

        @Option(help: ArgumentHelp("Another base directory of runs (e.g. a profile's provenance.dir).", valueName: "DIR"))
        var dir: String?

        func run() throws {
            let root = dir ?? LogCommand.stateRoot
            let runs = RunDirectory.list(root: root)
            if runs.isEmpty {
                Console.out("no runs under \(root)")
                return
            }
            for run in runs {
                let exit = run.exitCode.map { "exit \($0)" } ?? "no end (running, or killed)"
                Console.out("\(run.id)  \(run.startedAt ?? "?")  \(run.profile ?? "?")  \(exit)  \(run.records) records\(run.sealed ? "" : "  UNSEALED")")
            }
        }
    }

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an operator Ed25519 key pair for certifying run keys (provenance.sign_key / --sign-key).")

        @Option(help: ArgumentHelp("Where to write the private key (PEM, mode 0600); the public key goes to FILE.pub.", valueName: "FILE"))
        var out: String

        func run() throws {
            do {
                let key = OperatorKey.generate()
                try key.write(privateKeyTo: out, publicKeyTo: out + ".pub")
                Console.out("wrote \(out) and \(out).pub; public key \(key.publicKeyHex)")
            } catch {
                Console.error("agentrun: \(error)")
                throw ExitCode(1)
            }
        }
    }
}
