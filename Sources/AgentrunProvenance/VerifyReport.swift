/// What `agentrun log verify` found: intact or not, and if not, the first bad record and why.
public struct VerifyReport: Sendable, CustomStringConvertible {
    /// Every rule of docs/provenance.md holds, including the final checkpoint.
    public var intact: Bool
    /// Records that verified before the problem (all of them when intact or merely unsealed).
    public var records: Int
    /// The last checkpoint whose signature verified before the problem: everything up to it is
    /// authentic even when the log is not intact.
    public var lastCheckpointSeq: Int64?
    /// The log ends with a final checkpoint that verified.
    public var sealed: Bool
    public var problem: Problem?
    /// The run id of the first record, when it could be read.
    public var runID: String?
    /// The operator key that certified the run key, when `--key` was given and it verified.
    public var certifiedBy: String?

    public struct Problem: Sendable, Equatable {
        /// The seq the problem is about (the record changed, the first one missing, …), when known.
        public var seq: Int64?
        /// 1-based line of the file where it shows.
        public var line: Int
        public var kind: Kind
        public var message: String

        public init(seq: Int64?, line: Int, kind: Kind, message: String) {
            self.seq = seq
            self.line = line
            self.kind = kind
            self.message = message
        }
    }

    public enum Kind: String, Sendable {
        case malformed, notCanonical, edited, missing, inserted, reordered, otherRun, badSignature, truncated, unsealed,
            badCertificate, noSessionStart

        /// As people say it.
        public var label: String {
            switch self {
            case .malformed: return "malformed"
            case .notCanonical: return "not canonical"
            case .edited: return "edited"
            case .missing: return "missing records"
            case .inserted: return "inserted record"
            case .reordered: return "records out of order"
            case .otherRun: return "record from another run"
            case .badSignature: return "bad checkpoint signature"
            case .truncated: return "truncated"
            case .unsealed: return "unsealed tail"
            case .badCertificate: return "bad run key certificate"
            case .noSessionStart: return "no session.start"
            }
        }
    }

    public init(
        intact: Bool, records: Int, lastCheckpointSeq: Int64?, sealed: Bool, problem: Problem?, runID: String? = nil,
        certifiedBy: String? = nil
    ) {
        self.intact = intact
        self.records = records
        self.lastCheckpointSeq = lastCheckpointSeq
        self.sealed = sealed
        self.problem = problem
        self.runID = runID
        self.certifiedBy = certifiedBy
    }

    public var description: String {
        if intact {
            var text = "intact: \(records) records, sealed by the final checkpoint"
            if let certifiedBy { text += "; run key certified by operator key \(certifiedBy)" }
            return text
        }
        guard let problem else { return "not intact" }
        var text = "NOT INTACT: \(problem.kind.label) at line \(problem.line)"
        if let seq = problem.seq { text += " (seq \(seq))" }
        text += ": \(problem.message)"
        if let lastCheckpointSeq {
            text += "\n  records up to checkpoint seq \(lastCheckpointSeq) verify (signed by the run key)"
        } else {
            text += "\n  no checkpoint verified before the problem: nothing in this log is signed"
        }
        return text
    }
}
