/// `agentrun profile show`: the resolved profile as YAML that loads back to the same `Profile`.
/// Every key is written (no `extends`, no `KEY+:`), in schema order, with units formatted and
/// `unlimited` for absent limits, so the operator sees exactly what will be enforced.
extension Profile {
    public func renderYAML() -> String {
        var lines: [String] = []
        if !lineage.isEmpty {
            lines.append("# Resolved from \(lineage.joined(separator: " -> ")) (\(source))")
        }
        lines.append("name: \(YAMLText.scalar(name))")
        lines.append("description: \(YAMLText.quoted(description))")

        lines.append("filesystem:")
        lines.append("  workspace: \(filesystem.workspace.rawValue)")
        YAMLText.list("system", filesystem.system, indent: 1, into: &lines)
        YAMLText.list("read_only", filesystem.readOnly, indent: 1, into: &lines)
        YAMLText.list("read_write", filesystem.readWrite, indent: 1, into: &lines)
        YAMLText.list("tmpfs", filesystem.tmpfs, indent: 1, into: &lines)
        YAMLText.list("protected", filesystem.protected, indent: 1, into: &lines)
        let exec = ExecLocation.allCases.filter(filesystem.exec.contains).map(\.rawValue)
        lines.append("  exec: [\(exec.joined(separator: ", "))]")
        lines.append("  tmp_size: \(Units.formatSize(filesystem.tmpSize))")

        lines.append("network: \(network.rawValue)")

        lines.append("process:")
        lines.append("  env:")
        YAMLText.list("pass", process.envPass, indent: 2, into: &lines)
        if process.envSet.isEmpty {
            lines.append("    set: {}")
        } else {
            lines.append("    set:")
            for (key, value) in process.envSet.sorted(by: { $0.key < $1.key }) {
                lines.append("      \(YAMLText.scalar(key)): \(YAMLText.quoted(value))")
            }
        }

        lines.append("limits:")
        lines.append("  wall: \(limits.wall.map(Units.formatDuration) ?? "unlimited")")
        lines.append("  kill_grace: \(Units.formatDuration(limits.killGrace))")
        lines.append("  cpu: \(limits.cpu.map(Units.formatDuration) ?? "unlimited")")
        lines.append("  memory: \(limits.memory.map(Units.formatSize) ?? "unlimited")")
        lines.append("  address_space: \(limits.addressSpace.map(Units.formatSize) ?? "unlimited")")
        lines.append("  processes: \(limits.processes.map { String($0) } ?? "unlimited")")
        lines.append("  open_files: \(limits.openFiles.map { String($0) } ?? "unlimited")")
        lines.append("  file_size: \(limits.fileSize.map(Units.formatSize) ?? "unlimited")")

        lines.append("syscalls:")
        YAMLText.list("deny", syscalls.deny, indent: 1, into: &lines)
        let mediate = syscalls.mediate
        lines.append("  mediate:")
        lines.append("    record: [\(mediate.record.map(YAMLText.scalar).joined(separator: ", "))]")
        lines.append("    record_all: \(mediate.recordAll)")
        lines.append("    exact_files: \(mediate.exactFiles)")
        lines.append("    errno: \(mediate.errno.rawValue)")
        for (key, rules) in [("deny_exec", mediate.denyExec), ("deny_write", mediate.denyWrite)] {
            if rules.isEmpty {
                lines.append("    \(key): []")
                continue
            }
            lines.append("    \(key):")
            for rule in rules {
                lines.append("      - id: \(YAMLText.scalar(rule.id))")
                lines.append("        paths: \(BrokerPolicy.flowList(rule.paths))")
            }
        }
        lines.append("landlock: \(landlock.rawValue)")

        lines.append("provenance:")
        if let dir = provenance.dir { lines.append("  dir: \(YAMLText.scalar(dir))") }
        if let key = provenance.signKey { lines.append("  sign_key: \(YAMLText.scalar(key))") }
        lines.append("  checkpoint_every: \(provenance.checkpointEvery)")
        lines.append("  checkpoint_interval: \(Units.formatDuration(provenance.checkpointInterval))")
        lines.append("  durability: \(provenance.durability.rawValue)")
        YAMLText.list("secrets", provenance.secrets, indent: 1, into: &lines)
        broker.renderYAML(into: &lines)
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Writing scalars that read back as the same string under the strict decoder.
enum YAMLText {
    static func list(_ key: String, _ items: [String], indent: Int, into lines: inout [String]) {
        let pad = String(repeating: "  ", count: indent)
        if items.isEmpty {
            lines.append("\(pad)\(key): []")
            return
        }
        lines.append("\(pad)\(key):")
        for item in items { lines.append("\(pad)  - \(scalar(item))") }
    }

    /// Plain when unambiguous (`/usr/lib`, `.git/hooks/`, `PATH`), double-quoted otherwise.
    static func scalar(_ text: String) -> String {
        isPlainSafe(text) ? text : quoted(text)
    }

    /// A double-quoted scalar; control and line-break characters are escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\0": out += "\\0"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
                || scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value == 0xFEFF:
                out += "\\u" + hex(scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func isPlainSafe(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ScalarKind(plain: text) == .string, text != "unlimited" else {
            return false
        }
        let safe: (Unicode.Scalar) -> Bool = { c in
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || "/._-+".unicodeScalars.contains(c)
        }
        return first != "-" && text.unicodeScalars.allSatisfy(safe)
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
