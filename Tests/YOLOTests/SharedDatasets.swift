import Foundation
import XCTest

@testable import YOLO

/// ../shared/datasets is a read-only fixture that other checkouts share: nothing may be written there, not even a
/// label cache (the permission bits do not stop root, nor the reference's `os.access` test that we copy). A test that
/// scans, trains or validates on one of its datasets takes `SharedDatasets.yaml(...)`: the YAML in a copy made once
/// per test process in a temporary folder, its `path:` pointing at a copy of the dataset folder beside it.
enum SharedDatasets {
    private static let lock = NSLock()
    private nonisolated(unsafe) static var copies: [String: String] = [:]
    /// The process's copies, removed when it exits.
    private static let folder: String = {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("swift-yolo-shared-datasets-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        atexit { try? FileManager.default.removeItem(atPath: SharedDatasets.folder) }
        return path
    }()

    /// The copy of `../shared/datasets/<name>` (a dataset YAML) and of the dataset folder it names.
    static func yaml(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let original = try Fixtures.shared("datasets/\(name)", file: file, line: line)
        return try lock.withLock {
            if let copy = copies[name] { return copy }
            let root = try DatasetSpec(contentsOf: original).root
            let target = folder + "/" + URL(fileURLWithPath: root).lastPathComponent
            if !FileManager.default.fileExists(atPath: target) {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                try copyWritable(root, to: target)
            }
            // The YAML with its `path:` made absolute: the copy, wherever the original's was resolved to.
            let text = try String(contentsOfFile: original, encoding: .utf8)
            var lines = text.components(separatedBy: "\n")
            guard let index = lines.firstIndex(where: { $0.hasPrefix("path:") }) else {
                throw DataError("\(original) has no top-level 'path:' line to point at the copy")
            }
            lines[index] = "path: \(target)"
            let copy = folder + "/" + name
            try lines.joined(separator: "\n").write(toFile: copy, atomically: true, encoding: .utf8)
            copies[name] = copy
            return copy
        }
    }

    /// Copies a folder and makes the copy writable and removable (the shared one is read-only).
    static func copyWritable(_ source: String, to target: String) throws {
        try FileManager.default.copyItem(atPath: source, toPath: target)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target)
        let walker = FileManager.default.enumerator(atPath: target)
        while let relative = walker?.nextObject() as? String {
            let path = target + "/" + relative
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            try FileManager.default.setAttributes(
                [.posixPermissions: isDirectory.boolValue ? 0o755 : 0o644], ofItemAtPath: path)
        }
    }

    /// Every file and folder under ../shared/datasets, relative to it; empty when it is absent.
    static func listing() -> Set<String> {
        let root = Fixtures.sharedRoot.appendingPathComponent("datasets").path
        return Set(FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [])
    }
}

/// Fails the test in which a new file appeared under ../shared/datasets. Installed by the first use of a ../shared
/// fixture (`Fixtures.shared`), before anything could write there; from then on each test ends with the check. What
/// the installing test itself wrote fails the next test's check, or, when no test follows, the process exits with
/// an error (`SharedDatasetsTests` also fails on any non-fixture file there, left by any run).
final class SharedDatasetsGuard: XCTestObservation, @unchecked Sendable {
    private static let shared: SharedDatasetsGuard = {
        let guardian = SharedDatasetsGuard()
        XCTestObservationCenter.shared.addTestObserver(guardian)
        return guardian
    }()

    static func install() { _ = shared }

    private let lock = NSLock()
    private var known = SharedDatasets.listing()
    /// The test that finished last, and whether a check has run since the guard was installed.
    private var lastTest = "the test that first used ../shared"
    private var checked = false

    /// The files that appeared since the last check (taken as known then, so each is reported once), and who could
    /// have written them: `test`, and for the first check also the test that installed the guard (no check of its own).
    private func appeared(in test: String) -> (files: [String], culprits: String) {
        lock.withLock {
            let now = SharedDatasets.listing()
            let culprits = checked ? test : "\(test) or \(lastTest) (the first to use ../shared)"
            defer { (known, checked) = (now, true) }
            return (now.subtracting(known).sorted(), culprits)
        }
    }

    func testCaseWillStart(_ testCase: XCTestCase) {
        let name = testCase.name
        // A teardown block runs inside the test, so its failure is the test's.
        testCase.addTeardownBlock { [self] in
            let new = appeared(in: name)
            XCTAssertTrue(
                new.files.isEmpty,
                "new files under ../shared/datasets during \(new.culprits): \(new.files); a test must scan, train or "
                    + "validate on SharedDatasets.yaml(...) copies")
        }
    }

    func testCaseDidFinish(_ testCase: XCTestCase) { lock.withLock { lastTest = testCase.name } }

    func testBundleDidFinish(_ testBundle: Bundle) {
        let new = appeared(in: lock.withLock { lastTest })
        guard !new.files.isEmpty else { return }
        FileHandle.standardError.write(
            Data("error: new files under ../shared/datasets during \(new.culprits): \(new.files)\n".utf8))
        exit(1)
    }
}
