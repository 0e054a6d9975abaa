/// The profiles shipped in profiles/*.yaml, embedded in the binary so that `agentrun -- cmd`
/// works with no file on disk. The YAML files are the source of truth.
public enum BuiltinProfiles {
    /// Name and YAML text of each built-in profile, in the order `profile list` shows them.
    public static let all: [(name: String, yaml: String)] = [
        ("default", String(decoding: PackageResources.default_yaml, as: UTF8.self)),
        ("offline", String(decoding: PackageResources.offline_yaml, as: UTF8.self)),
        ("python-agent", String(decoding: PackageResources.python_agent_yaml, as: UTF8.self)),
        ("ci-untrusted", String(decoding: PackageResources.ci_untrusted_yaml, as: UTF8.self)),
    ]

    /// The YAML text of the built-in profile `name`, if there is one.
    public static func yaml(named name: String) -> String? {
        all.first { $0.name == name }?.yaml
    }
}
