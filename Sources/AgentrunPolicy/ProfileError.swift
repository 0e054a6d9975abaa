/// A profile that cannot be used, located precisely enough to fix it.
///
/// `description` reads like a compiler diagnostic:
/// `profiles/x.yaml:12:5: filesystem.exec[1]: unknown value 'home'; allowed: system, workspace, tmp, read_write`
public struct ProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, or `<built-in NAME>` for an embedded profile, or the name that was looked up.
    public var file: String
    /// 1-based line and column of the offending node, when known.
    public var line: Int?
    public var column: Int?
    /// Dotted key path with list indices, e.g. `limits.memory` or `filesystem.system[3]`. Empty for the whole file.
    public var keyPath: String
    /// What is wrong and what is allowed.
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, keyPath: String = "", message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        return keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
    }
}
