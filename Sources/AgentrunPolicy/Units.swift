/// Human units in profiles and on the command line: sizes (`512MiB`, `2GiB`, `1024`) and
/// durations (`90s`, `30m`, `1h30m`, `250ms`), plus `unlimited`.
public enum Units {
    /// Parses a byte size. Binary suffixes KiB/MiB/GiB/TiB, decimal KB/MB/GB/TB, `B` or none for bytes.
    public static func parseSize(_ text: String) -> UInt64? {
        fatalError("unimplemented")
    }

    /// Parses a duration into seconds: `ms`, `s`, `m`, `h`, `d`, combinable (`1h30m`). A bare number is seconds.
    public static func parseDuration(_ text: String) -> Double? {
        fatalError("unimplemented")
    }

    /// Formats a byte size with the largest exact binary unit (`2GiB`, `1536MiB`, `100B`).
    public static func formatSize(_ bytes: UInt64) -> String {
        fatalError("unimplemented")
    }

    /// Formats seconds compactly (`1h30m`, `2s`, `250ms`).
    public static func formatDuration(_ seconds: Double) -> String {
        fatalError("unimplemented")
    }
}

extension Profile {
    /// The fully resolved profile as YAML, for `agentrun profile show` (loads back to an equal profile).
    public func renderYAML() -> String {
        fatalError("unimplemented")
    }
}
