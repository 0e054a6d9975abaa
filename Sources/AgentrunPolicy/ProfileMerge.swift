/// `extends` semantics: a file's layer on top of its fully resolved parent.
///
/// Unset keys keep the parent's value (or, without a parent, the model's default); scalars and
/// lists replace it; `KEY+:` appends to the parent's list (to an empty list without a parent);
/// `env.set` merges key by key, the child winning; `syscalls.mediate` merges key by key like the
/// other sections (`record`, `deny_exec` and `deny_write` are lists: an appended rule equal to an
/// inherited one is skipped, one reusing an inherited id is an error, see `MediationValidation`);
/// `credentials`, `tools` and `mcp_servers` merge entry by entry, the child's entry replacing the
/// parent's of the same name. `name` and `description` describe one file and are never inherited.
extension ProfileLayer {
    func applied(to parent: Profile?, name: String, source: ProfileSource) -> Profile {
        let base = parent ?? Profile(name: name)
        var profile = base
        profile.name = name
        profile.description = description ?? ""
        profile.source = source
        profile.lineage = (parent?.lineage ?? []) + [name]
        if case .file(let path) = source {
            profile.sourceFiles = (parent?.sourceFiles ?? []) + [path]
        } else {
            profile.sourceFiles = parent?.sourceFiles ?? []
        }

        let inherited = parent?.filesystem
        var filesystem = base.filesystem
        filesystem.workspace = workspace ?? base.filesystem.workspace
        filesystem.system = Self.merge(system, onto: inherited?.system, default: base.filesystem.system)
        filesystem.readOnly = Self.merge(readOnly, onto: inherited?.readOnly, default: base.filesystem.readOnly)
        filesystem.readWrite = Self.merge(readWrite, onto: inherited?.readWrite, default: base.filesystem.readWrite)
        filesystem.tmpfs = Self.merge(tmpfs, onto: inherited?.tmpfs, default: base.filesystem.tmpfs)
        filesystem.protected = Self.merge(protected, onto: inherited?.protected, default: base.filesystem.protected)
        let inheritedExec = inherited.map { ExecLocation.allCases.filter($0.exec.contains) }
        filesystem.exec = Set(Self.merge(exec, onto: inheritedExec, default: ExecLocation.allCases.filter(base.filesystem.exec.contains)))
        filesystem.tmpSize = tmpSize ?? base.filesystem.tmpSize
        profile.filesystem = filesystem

        profile.network = network ?? base.network
        profile.process.envPass = Self.merge(envPass, onto: parent?.process.envPass, default: base.process.envPass)
        profile.process.envSet.merge(envSet) { _, child in child }

        var limits = base.limits
        limits.wall = Self.limit(wall, inherited: base.limits.wall)
        limits.killGrace = killGrace ?? base.limits.killGrace
        limits.cpu = Self.limit(cpu, inherited: base.limits.cpu)
        limits.memory = Self.limit(memory, inherited: base.limits.memory)
        limits.addressSpace = Self.limit(addressSpace, inherited: base.limits.addressSpace)
        limits.processes = Self.limit(processes, inherited: base.limits.processes)
        limits.openFiles = Self.limit(openFiles, inherited: base.limits.openFiles)
        limits.fileSize = Self.limit(fileSize, inherited: base.limits.fileSize)
        profile.limits = limits

        profile.syscalls.deny = Self.merge(deny, onto: parent?.syscalls.deny, default: base.syscalls.deny)
        let inheritedMediate = parent?.syscalls.mediate
        var mediate = base.syscalls.mediate
        mediate.record = Self.merge(self.mediate.record, onto: inheritedMediate?.record, default: base.syscalls.mediate.record)
        mediate.recordAll = self.mediate.recordAll ?? base.syscalls.mediate.recordAll
        mediate.exactFiles = self.mediate.exactFiles ?? base.syscalls.mediate.exactFiles
        mediate.errno = self.mediate.errno ?? base.syscalls.mediate.errno
        mediate.denyExec = Self.merge(self.mediate.denyExec, onto: inheritedMediate?.denyExec, default: base.syscalls.mediate.denyExec)
        mediate.denyWrite = Self.merge(self.mediate.denyWrite, onto: inheritedMediate?.denyWrite, default: base.syscalls.mediate.denyWrite)
        profile.syscalls.mediate = mediate
        profile.landlock = landlock ?? base.landlock

        var provenance = base.provenance
        provenance.dir = provenanceDir ?? base.provenance.dir
        provenance.signKey = signKey ?? base.provenance.signKey
        provenance.checkpointEvery = checkpointEvery ?? base.provenance.checkpointEvery
        provenance.checkpointInterval = checkpointInterval ?? base.provenance.checkpointInterval
        provenance.durability = durability ?? base.provenance.durability
        provenance.secrets = Self.merge(secrets, onto: parent?.provenance.secrets, default: base.provenance.secrets)
        profile.provenance = provenance

        profile.broker.credentials = Self.mergeNamed(credentials, onto: base.broker.credentials, name: \.name)
        profile.broker.tools = Self.mergeNamed(tools, onto: base.broker.tools, name: \.name)
        profile.broker.mcpServers = Self.mergeNamed(mcpServers, onto: base.broker.mcpServers, name: \.name)
        return profile
    }

    /// Broker sections merge entry by entry: a child's entry replaces the parent's entry of the
    /// same name in place (whole, never field by field: a tool's rules and backend belong
    /// together); new entries follow in file order.
    private static func mergeNamed<T>(_ child: [T], onto parent: [T], name: (T) -> String) -> [T] {
        var result = parent
        for entry in child {
            if let index = result.firstIndex(where: { name($0) == name(entry) }) {
                result[index] = entry
            } else {
                result.append(entry)
            }
        }
        return result
    }

    /// `inherited` is nil when there is no parent: then `KEY+:` starts from an empty list.
    /// Appended items the parent already has are skipped, so the list stays duplicate-free.
    private static func merge<T: Equatable>(_ setting: ListSetting<T>?, onto inherited: [T]?, default: [T]) -> [T] {
        switch setting {
        case nil: return inherited ?? `default`
        case .replace(let items): return items
        case .append(let items):
            var result = inherited ?? []
            for item in items where !result.contains(item) { result.append(item) }
            return result
        }
    }

    private static func limit<T>(_ setting: LimitSetting<T>?, inherited: T?) -> T? {
        switch setting {
        case nil: inherited
        case .unlimited: nil
        case .value(let value): value
        }
    }
}
