/// Finds, loads and resolves profiles by name or path.
///
/// A name (no `/`, no `.yaml`) is looked up in the search directories, then among the built-in
/// profiles. A path (contains `/` or ends in `.yaml`) is read from disk. The current directory is
/// never searched by name: a repository must not be able to ship a profile that replaces `default`.
public struct ProfileStore: Sendable {
    /// Directories searched for `NAME.yaml`, in order.
    public var searchPaths: [String]

    public init(searchPaths: [String]) {
        self.searchPaths = searchPaths
    }

    /// `$AGENTRUN_PROFILE_PATH` (colon-separated) if set, else `$XDG_CONFIG_HOME/agentrun/profiles`
    /// (or `~/.config/agentrun/profiles`), then `/etc/agentrun/profiles`.
    public static func defaultSearchPaths(environment: [String: String]) -> [String] {
        fatalError("unimplemented")
    }

    /// Loads and fully resolves (`extends`, `KEY+:`) the profile `nameOrPath`.
    public func load(_ nameOrPath: String) throws(ProfileError) -> Profile {
        fatalError("unimplemented")
    }

    /// Parses and resolves YAML text as if it were the file `file` (for tests and `profile check`).
    public func load(yaml: String, file: String) throws(ProfileError) -> Profile {
        fatalError("unimplemented")
    }

    /// Every built-in and on-disk profile, for `agentrun profile list`.
    public func list() -> [ProfileListing] {
        fatalError("unimplemented")
    }
}

/// One row of `agentrun profile list`.
public struct ProfileListing: Sendable, Equatable {
    public var name: String
    public var description: String
    /// `built-in` or the file path.
    public var source: ProfileSource
    /// True when an on-disk profile with this name hides a built-in one (or an earlier directory's).
    public var shadows: Bool

    public init(name: String, description: String, source: ProfileSource, shadows: Bool) {
        self.name = name
        self.description = description
        self.source = source
        self.shadows = shadows
    }
}
