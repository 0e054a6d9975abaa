/// Reads a log's records for display and export (`log show`, OCSF). It checks each line's
/// canonical form but not the chain or signatures: that is `LogVerifier`'s job.
public enum LogReader {
    /// Every complete record. An incomplete last line (agentrun killed mid-write) is skipped; any
    /// other line that is not canonical JSON throws, naming the line.
    public static func records(path: String) throws(ProvenanceError) -> [JSONValue] {
        var records: [JSONValue] = []
        try forEachRecord(path: path) { record in
            records.append(record)
            return true
        }
        return records
    }

    /// Calls `body` with each complete record until it returns false.
    public static func forEachRecord(path: String, _ body: (JSONValue) -> Bool) throws(ProvenanceError) {
        var failure: ProvenanceError?
        var number = 0
        try LineReader.forEachLine(path: path) { line, terminated in
            number += 1
            guard terminated else { return false }
            var scanner = CanonicalScanner(line)
            do throws(ScanError) {
                return body(try scanner.document())
            } catch {
                failure = ProvenanceError(op: "read", path: path, message: "line \(number): \(error.description)")
                return false
            }
        }
        if let failure { throw failure }
    }
}
