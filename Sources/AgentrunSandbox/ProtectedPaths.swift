import AgentrunOS

/// Plans the mounts that keep `filesystem.protected` paths read-only inside a writable workspace.
///
/// The paths are what the host runs later (`.git/hooks`, `.git/config`): the agent must not create,
/// change, replace or rename them. For each path, walking from the workspace:
/// - every existing ancestor directory is bind-mounted onto itself ("pinned"), because a mount
///   point cannot be renamed or removed (`mv .git .git.old && mkdir .git` fails with EBUSY);
/// - the path itself is bind-mounted read-only onto itself;
/// - a missing path (or ancestor) is created first, as an empty directory or file, so there is
///   something to mount on; agentrun removes what it created after the run if it is still empty;
/// - a symlink is itself covered by a read-only mount (it cannot be re-pointed), and when it
///   resolves inside the workspace its target is protected as well;
/// - a `.git` file (`gitdir: PATH`, worktrees and submodules) adds PATH/hooks and PATH/config.
/// The child mounts all of this without following symlinks, so a swap between planning and
/// mounting fails the launch instead of being followed.
struct ProtectedPathPlanner {
    /// Placeholders that must not change what the host's tools do while they exist. An empty
    /// file is neutral for most names (git reads an empty `.git/config`), but git dies on an
    /// empty `commondir`; "." names the git directory itself, which is what no file means.
    static let placeholderContent: [String: [UInt8]] = ["commondir": Array(".\n".utf8)]

    let workspace: String
    let entries: [String]
    /// Attributes every workspace mount carries (nosuid, nodev, maybe noexec).
    let workspaceFlags: MountOp.Flags

    struct Plan {
        var ops: [MountOp] = []
        /// Host paths the child will create; removed after the run when still empty.
        var created: [CreatedPath] = []
        var notes: [String] = []

        /// Records a path to create once; removal runs in reverse order, children first.
        mutating func record(_ item: CreatedPath) {
            if !created.contains(item) { created.append(item) }
        }
    }

    func plan() -> Plan {
        var result = Plan()
        var pinned = Set<String>()
        var protected = Set<String>()
        var queue: [(relative: String, wantsDirectory: Bool)] = entries.map {
            (String($0.drop { $0 == "/" }), $0.hasSuffix("/"))
        }
        queue.append(contentsOf: gitdirEntries())
        var steps = 0

        while !queue.isEmpty, steps < 64 {
            steps += 1
            let (relative, wantsDirectory) = queue.removeFirst()
            let components = Paths.components(relative).map(String.init)
            guard !components.isEmpty, !components.contains("..") else { continue }
            var current = workspace
            var missing = false
            for (i, name) in components.enumerated() {
                let path = current + "/" + name
                let isLast = i == components.count - 1
                let kind = missing ? .missing : Files.kind(path)
                switch kind {
                case .directory where !isLast:
                    pin(path, &result, &pinned)
                    current = path
                    continue
                case .directory, .regular, .other:
                    // The path, or a non-directory where an ancestor should be: cover it read-only.
                    protect(path, flags: [], &result, &protected)
                case .symlink:
                    protect(path, flags: [.onSymlink], &result, &protected)
                    if let resolved = Files.realPath(path), Paths.isWithin(resolved, workspace), resolved != workspace {
                        let rest = components[(i + 1)...].joined(separator: "/")
                        var target = String(resolved.dropFirst(workspace.count + 1))
                        if !rest.isEmpty { target += "/" + rest }
                        queue.append((target, wantsDirectory))
                        result.notes.append("protected \(relative): \(path) is a symlink into the workspace; protecting \(target) too")
                    }
                case .missing:
                    missing = true
                    if isLast {
                        let content = wantsDirectory ? [] : Self.placeholderContent[name] ?? []
                        result.record(CreatedPath(path: path, isDirectory: wantsDirectory, content: content))
                        protect(path, flags: wantsDirectory ? [.create, .directory] : [.create], data: content, &result, &protected)
                    } else {
                        result.record(CreatedPath(path: path, isDirectory: true))
                        if pinned.insert(path).inserted {
                            result.ops.append(
                                MountOp(.rebind, target: path, flags: workspaceFlags.union([.create, .directory]),
                                        purpose: "pin \(relative)"))
                        }
                        current = path
                        continue
                    }
                }
                break
            }
        }
        return result
    }

    private func pin(_ path: String, _ result: inout Plan, _ pinned: inout Set<String>) {
        guard pinned.insert(path).inserted else { return }
        result.ops.append(MountOp(.rebind, target: path, flags: workspaceFlags, purpose: "pin \(relativeName(path))"))
    }

    private func protect(
        _ path: String, flags: MountOp.Flags, data: [UInt8] = [], _ result: inout Plan, _ protected: inout Set<String>
    ) {
        guard protected.insert(path).inserted else { return }
        result.ops.append(
            MountOp(.rebind, target: path, flags: workspaceFlags.union(flags).union(.readOnly), data: data,
                    purpose: "protected \(relativeName(path))"))
    }

    private func relativeName(_ path: String) -> String {
        Paths.isWithin(path, workspace) && path != workspace ? String(path.dropFirst(workspace.count + 1)) : path
    }

    /// `.git` as a file: `gitdir: <path>` (and the `commondir` of a worktree) inside the workspace.
    private func gitdirEntries() -> [(String, Bool)] {
        let dotGit = workspace + "/.git"
        guard Files.kind(dotGit) == .regular, let text = Files.readText(dotGit), text.hasPrefix("gitdir:") else {
            return []
        }
        let raw = text.dropFirst("gitdir:".count).trimmingCharacters(in: " \t")
        var dirs = [Paths.normalize(Paths.join(workspace, raw))]
        if let common = Files.readText(dirs[0] + "/commondir") {
            dirs.append(Paths.normalize(Paths.join(dirs[0], common.trimmingCharacters(in: " \t"))))
        }
        var out: [(String, Bool)] = []
        for dir in dirs {
            guard let real = Files.realPath(dir), Paths.isWithin(real, workspace), real != workspace else { continue }
            let relative = String(real.dropFirst(workspace.count + 1))
            out.append((relative + "/hooks/", true))
            out.append((relative + "/config", false))
        }
        return out
    }
}

/// A host path agentrun created as a mount point, to remove after the run when still untouched.
public struct CreatedPath: Sendable, Equatable {
    public var path: String
    public var isDirectory: Bool
    /// What a created file holds (usually nothing); it is removed only while it still holds that.
    public var content: [UInt8] = []
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
