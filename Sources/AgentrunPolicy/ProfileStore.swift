import AgentrunProfiles

/// Finds, loads and resolves profiles by name or path.
///
/// A name (no `/`, no `.yaml`) is looked up in the search directories, then among the built-in
/// profiles. A path (contains `/` or ends in `.yaml`) is read from disk. The current directory is
/// never searched by name: a repository must not be able to ship a profile that replaces `default`.
/// For the same reason, search paths that are not absolute are ignored.
public struct ProfileStore: Sendable {
    /// Directories searched for `NAME.yaml`, in order.
    public var searchPaths: [String]

    /// How many profiles an `extends` chain may hold (the profile itself included).
    static let maxChainLength = 8

    public init(searchPaths: [String]) {
        self.searchPaths = searchPaths
    }

    /// `$AGENTRUN_PROFILE_PATH` (colon-separated) if set, else `$XDG_CONFIG_HOME/agentrun/profiles`
    /// (or `~/.config/agentrun/profiles`), then `/etc/agentrun/profiles`.
    ///
    /// `AGENTRUN_PROFILE_PATH` replaces the whole list (set it empty to use only the built-in
    /// profiles). Empty and relative entries, and a relative `XDG_CONFIG_HOME` or `HOME`, are
    /// ignored: they would make the lookup depend on the current directory.
    public static func defaultSearchPaths(environment: [String: String]) -> [String] {
        if let custom = environment["AGENTRUN_PROFILE_PATH"] {
            return custom.split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        }
        var paths: [String] = []
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") {
            paths.append(FileSystem.join(config, "agentrun/profiles"))
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            paths.append(FileSystem.join(home, ".config/agentrun/profiles"))
        }
        paths.append("/etc/agentrun/profiles")
        return paths
    }

    /// Loads and fully resolves (`extends`, `KEY+:`) the profile `nameOrPath`.
    public func load(_ nameOrPath: String) throws(ProfileError) -> Profile {
        let document: ProfileDocument
        if Self.isPath(nameOrPath) {
            switch FileSystem.readFile(nameOrPath) {
            case .failure(let error):
                throw ProfileError(file: nameOrPath, message: "cannot read the profile: \(error.reason)")
            case .success(let bytes):
                document = .file(path: nameOrPath, bytes: bytes, foundAs: nil)
            }
        } else {
            guard ValueRules.isProfileName(nameOrPath) else {
                throw ProfileError(file: nameOrPath, message: "invalid profile name; use lower-case letters, digits, '.', '_' and '-', or a path containing '/'")
            }
            guard let found = try locate(nameOrPath, after: nil, errorFile: nameOrPath, mark: nil) else {
                throw ProfileError(file: nameOrPath, message: unknownNameMessage(nameOrPath))
            }
            document = found
        }
        return try resolve(document, chain: [])
    }

    /// Parses and resolves YAML text as if it were the file `file` (for tests and `profile check`).
    /// A relative `extends:` path is resolved against `file`'s directory.
    public func load(yaml: String, file: String) throws(ProfileError) -> Profile {
        try resolve(.file(path: file, bytes: Array(yaml.utf8), foundAs: nil), chain: [])
    }

    /// Every profile reachable by name, one row per name (the one `load` would use), for
    /// `agentrun profile list`: built-in names first, in their usual order, then the others sorted.
    /// A profile that fails to load is listed with the error as its description.
    public func list() -> [ProfileListing] {
        availableNames().map { name in
            let files = directories.map { FileSystem.join($0, name + ".yaml") }.filter(FileSystem.exists)
            let copies = files.count + (BuiltinProfiles.yaml(named: name) == nil ? 0 : 1)
            let source: ProfileSource = files.first.map { .file(FileSystem.absolute($0)) } ?? .builtin
            let description: String
            do throws(ProfileError) {
                description = try load(name).description
            } catch {
                description = "(invalid: \(error))"
            }
            return ProfileListing(name: name, description: description, source: source, shadows: copies > 1)
        }
    }

    /// Names `load` can find: built-in names in their usual order, then the others sorted.
    private func availableNames() -> [String] {
        let builtin = BuiltinProfiles.all.map(\.name)
        var others: Set<String> = []
        for directory in directories {
            for entry in FileSystem.directoryEntries(directory) where entry.hasSuffix(".yaml") {
                let name = String(entry.dropLast(5))
                if ValueRules.isProfileName(name), !builtin.contains(name) { others.insert(name) }
            }
        }
        return builtin + others.sorted()
    }

    // MARK: - Resolution

    /// A name or a path? The same rule for the command line and for `extends:`.
    static func isPath(_ text: String) -> Bool {
        text.contains("/") || text.hasSuffix(".yaml")
    }

    /// Only absolute directories: the current directory must never be searched by name.
    private var directories: [String] {
        searchPaths.filter { $0.hasPrefix("/") }
    }

    /// One link of an `extends` chain, for cycle detection and the lineage in errors.
    private struct Link {
        var identity: ProfileDocument.Identity
        var name: String
    }

    private func resolve(_ document: ProfileDocument, chain: [Link]) throws(ProfileError) -> Profile {
        let root = try YAMLParser.parse(document.bytes, file: document.displayName)
        let layer = try ProfileDecoder(file: document.displayName).decode(root)
        let name = try profileName(of: layer, in: document)
        guard let extends = layer.extends else {
            let profile = layer.applied(to: nil, name: name, source: document.source)
            try BrokerValidation.validate(profile, marks: layer.marks, file: document.displayName)
            try MediationValidation.validate(profile, layer: layer.mediate, file: document.displayName)
            return profile
        }
        let links = chain + [Link(identity: document.identity, name: name)]
        func failure(_ message: String) -> ProfileError {
            ProfileError(file: document.displayName, line: extends.mark.line, column: extends.mark.column, keyPath: "extends", message: message)
        }
        guard links.count < Self.maxChainLength else {
            let names = (links.map(\.name) + [extends.value]).joined(separator: " -> ")
            throw failure("extends chain holds more than \(Self.maxChainLength) profiles: \(names)")
        }
        let parentDocument = try parent(extends, of: document, failure: failure)
        if let start = links.firstIndex(where: { $0.identity == parentDocument.identity }) {
            let cycle = links[start...].map(\.name) + [links[start].name]
            throw failure("extends makes a cycle: \(cycle.joined(separator: " -> "))")
        }
        let parentProfile = try resolve(parentDocument, chain: links)
        let profile = layer.applied(to: parentProfile, name: name, source: document.source)
        try BrokerValidation.validate(profile, marks: layer.marks, file: document.displayName)
        try MediationValidation.validate(profile, layer: layer.mediate, file: document.displayName)
        return profile
    }

    /// `name:` if given, else the file name without `.yaml`. A profile found by name in a search
    /// directory must be called like its file, or `--profile X` would run a profile named Y.
    private func profileName(of layer: ProfileLayer, in document: ProfileDocument) throws(ProfileError) -> String {
        if let name = layer.name {
            if let expected = document.foundAs, name.value != expected {
                throw ProfileError(
                    file: document.displayName, line: name.mark.line, column: name.mark.column, keyPath: "name",
                    message: "name '\(name.value)' differs from the file name '\(expected).yaml'; rename one so they match")
            }
            return name.value
        }
        let derived = document.defaultName
        guard ValueRules.isProfileName(derived) else {
            throw ProfileError(
                file: document.displayName,
                message: "the file name does not make a valid profile name ('\(derived)'); add a name: key")
        }
        return derived
    }

    /// The document `extends:` points at. A path is relative to the extending file. A name is
    /// searched like on the command line, except that a profile extending its own name gets the
    /// one it shadows (`~/.config/agentrun/profiles/default.yaml` can say `extends: default`).
    private func parent(
        _ extends: Located<String>, of child: ProfileDocument, failure: (String) -> ProfileError
    ) throws(ProfileError) -> ProfileDocument {
        let target = extends.value
        guard Self.isPath(target) else {
            let found = try locate(target, after: child.identity, errorFile: child.displayName, mark: extends.mark)
            guard let found else { throw failure(unknownNameMessage(target)) }
            return found
        }
        guard case .file(let childPath) = child.source else {
            throw failure("a built-in profile cannot extend a path")
        }
        let path = FileSystem.join(FileSystem.directory(of: childPath), target)
        switch FileSystem.readFile(path) {
        case .failure(let error): throw failure("cannot read '\(path)': \(error.reason)")
        case .success(let bytes): return .file(path: path, bytes: bytes, foundAs: nil)
        }
    }

    /// Searches the directories, then the built-in profiles, for `name`. With `after`, starts past
    /// that document when it is itself one of the candidates for `name`.
    private func locate(
        _ name: String, after skipped: ProfileDocument.Identity?, errorFile: String, mark: YAMLMark?
    ) throws(ProfileError) -> ProfileDocument? {
        let candidates = directories.map { FileSystem.join($0, name + ".yaml") }
        var start = 0
        var builtinAllowed = true
        switch skipped {
        case .builtin(let builtinName)? where builtinName == name:
            start = candidates.count
            builtinAllowed = false
        case .file(let canonical)?:
            if let index = candidates.firstIndex(where: { FileSystem.canonical($0) == canonical }) {
                start = index + 1
            }
        default:
            break
        }
        for path in candidates[start...] {
            switch FileSystem.readFile(path) {
            case .success(let bytes):
                return .file(path: path, bytes: bytes, foundAs: name)
            case .failure(let error) where !error.missing:
                // Never fall back to a later (weaker or stronger) profile when one is unreadable.
                throw ProfileError(
                    file: errorFile, line: mark?.line, column: mark?.column, keyPath: mark == nil ? "" : "extends",
                    message: "cannot read '\(path)': \(error.reason)")
            case .failure:
                continue
            }
        }
        guard builtinAllowed, let yaml = BuiltinProfiles.yaml(named: name) else { return nil }
        return ProfileDocument(
            identity: .builtin(name), displayName: "<built-in \(name)>", source: .builtin,
            bytes: Array(yaml.utf8), defaultName: name, foundAs: name)
    }

    private func unknownNameMessage(_ name: String) -> String {
        let available = availableNames()
        var message = "no profile named '\(name)'; "
        if let close = KeySuggestion.closest(to: name, in: available) { message += "did you mean '\(close)'? " }
        message += "available: \(available.joined(separator: ", "))"
        let searched = directories
        message += searched.isEmpty
            ? " (no search directories; built-in profiles only)"
            : " (searched \(searched.joined(separator: ", ")), then the built-in profiles)"
        return message
    }
}

/// The text of one profile and where it came from.
private struct ProfileDocument {
    /// Which file this is, however it was reached: for cycle detection.
    enum Identity: Equatable {
        case builtin(String)
        case file(String)
    }

    var identity: Identity
    /// The path as reached, or `<built-in NAME>`: what errors show.
    var displayName: String
    var source: ProfileSource
    var bytes: [UInt8]
    /// The file name without `.yaml`, used when there is no `name:`.
    var defaultName: String
    /// The name it was looked up by, when found by name.
    var foundAs: String?

    static func file(path: String, bytes: [UInt8], foundAs: String?) -> ProfileDocument {
        let absolute = FileSystem.absolute(path)
        var base = FileSystem.baseName(path)
        if base.hasSuffix(".yaml") { base.removeLast(5) }
        return ProfileDocument(
            identity: .file(FileSystem.canonical(absolute) ?? absolute), displayName: path, source: .file(absolute),
            bytes: bytes, defaultName: base, foundAs: foundAs)
    }
}

/// One row of `agentrun profile list`.
public struct ProfileListing: Sendable, Equatable {
    public var name: String
    public var description: String
    /// `built-in` or the file path.
    public var source: ProfileSource
    /// True when this profile hides another of the same name: a built-in one, or one in a later
    /// search directory.
    public var shadows: Bool

    public init(name: String, description: String, source: ProfileSource, shadows: Bool) {
        self.name = name
        self.description = description
        self.source = source
        self.shadows = shadows
    }
}
