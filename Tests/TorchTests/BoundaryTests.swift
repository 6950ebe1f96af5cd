import CTorch
import Foundation
import XCTest

@testable import Torch

/// The C boundary: no C++ exception reaches Swift. Every `ct_*` and `cvs_*` entry point runs through the shims'
/// guard, or says on its definition why it cannot throw (`// nothrow: <reason>`); bad handles and values come back as
/// errors.
final class BoundaryTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testEveryEntryPointIsGuardedOrSaysWhyItCannotThrow() throws {
        for shim in ["CTorch", "COpenCV"] {
            let folder = Self.root.appendingPathComponent("Sources/\(shim)")
            let headers = try files(in: folder.appendingPathComponent("include"), ext: "h")
            let sources = try files(in: folder, ext: "cpp")
            let declared = Set(headers.flatMap { EntryPoints.declared(in: $0) })
            let definitions = sources.flatMap { EntryPoints.definitions(in: $0) }
            XCTAssertGreaterThan(declared.count, shim == "CTorch" ? 120 : 40, "\(shim): the header parse found too few")
            let defined = Set(definitions.map(\.name))
            XCTAssertEqual(declared.subtracting(defined), [], "\(shim): declared but no definition found")
            let unguarded = definitions.filter { !$0.isGuarded }.map(\.name)
            XCTAssertEqual(unguarded, [], "\(shim): entry points neither guarded nor marked `// nothrow: <reason>`")
        }
    }

    func testTheCheckFindsAnUnguardedDefinition() {
        let source = """
            extern "C" {
            int ct_good(ct_tensor t) { CT_COUNT((int)T(t).dim()); }
            int ct_bad(ct_tensor t) { return (int)T(t).dim(); }
            void ct_free_it(ct_tensor t) { delete t; }  // nothrow: a destructor
            int ct_long(ct_tensor t) {
              return guard<int>(-1, [&] { return 1; });
            }
            int ct_long_bad(ct_tensor t) {
              return T(t).dim();
            }
            }
            """
        let found = EntryPoints.definitions(in: source)
        XCTAssertEqual(found.map(\.name), ["ct_good", "ct_bad", "ct_free_it", "ct_long", "ct_long_bad"])
        XCTAssertEqual(found.filter { !$0.isGuarded }.map(\.name), ["ct_bad", "ct_long_bad"])
    }

    // MARK: Bad handles and values come back as errors

    func testTensorMetadataOfABadHandleIsAnError() {
        var dims = [Int64](repeating: 0, count: 4)
        var kind: Int32 = 0, index: Int32 = 0
        XCTAssertEqual(ct_ndim(nil), -1)
        XCTAssertEqual(lastError(), "null tensor handle")
        XCTAssertEqual(ct_shape(nil, &dims), -1)
        XCTAssertEqual(ct_numel(nil), -1)
        XCTAssertEqual(ct_dtype(nil), -1)
        XCTAssertEqual(ct_device(nil, &kind, &index), -1)
        XCTAssertEqual(ct_is_contiguous(nil), -1)
        XCTAssertEqual(ct_requires_grad(nil), -1)
        XCTAssertEqual(ct_equal(nil, nil), -1)
        XCTAssertEqual(ct_allclose(nil, nil, 0, 0), -1)
        XCTAssertEqual(ct_conv_bn_silu_fused(nil, nil, [1, 1], [0, 0]), -1)
        XCTAssertEqual(ct_optimizer_group_count(nil), -1)
        XCTAssertEqual(lastError(), "null optimizer handle")
        XCTAssertEqual(ct_optimizer_zero_grad(nil, true), -1)
    }

    func testATensorTypeSwiftDoesNotKnowIsRefusedWhereItWouldBeMade() throws {
        // uint8 + int8 promotes to int16, which has no DType: the shim refuses to hand it out.
        let a = try Tensor([UInt8(1), 2]), b = try Tensor([Int8(1), 2])
        XCTAssertThrowsError(try a + b) { error in
            XCTAssertTrue("\(error)".contains("Short"), "\(error)")
            XCTAssertTrue("\(error)".contains("not supported"), "\(error)")
        }
    }

    func testAutocastOnAnotherDeviceIsAnError() {
        XCTAssertThrowsError(try Autocast.isEnabled(on: .mps)) { XCTAssertTrue("\($0)".contains("only CPU and CUDA")) }
    }

    func testReadingAValueAsAnotherKindIsAnError() throws {
        let int = try XCTUnwrap(ct_value_int(7))
        defer { ct_value_free(int) }
        var flag = false, number = 0.0, whole: Int64 = 0
        XCTAssertEqual(ct_value_kind(nil), -1)
        XCTAssertEqual(ct_value_to_bool(int, &flag), -1)
        XCTAssertFalse(lastError().isEmpty)
        XCTAssertEqual(ct_value_to_double(int, &number), -1)
        XCTAssertEqual(ct_value_to_int(int, &whole), 0)
        XCTAssertEqual(whole, 7)
        XCTAssertNil(ct_value_to_string(int))
        XCTAssertNil(ct_value_to_tensor(int))
        XCTAssertNil(ct_value_key(int, 0))
        XCTAssertNil(ct_value_string(nil))
        XCTAssertEqual(lastError(), "null string")
    }

    func testStringsStayValidWhileTheValueLives() throws {
        let values = try ["alpha", "beta", "gamma"].map { try XCTUnwrap(ct_value_int(Int64($0.count))) }
        defer { values.forEach(ct_value_free) }
        let names: [String] = ["alpha", "beta", "gamma"]
        let keys = names.map { strdup($0) }
        defer { keys.forEach { free($0) } }
        let keyPointers: [UnsafePointer<CChar>?] = keys.map { $0.map { UnsafePointer($0) } }
        let dict = try XCTUnwrap(ct_value_dict(keyPointers, values.map { Optional($0) }, 3))
        defer { ct_value_free(dict) }
        let pointers = try (0..<3).map { try XCTUnwrap(ct_value_key(dict, Int32($0))) }
        // Each pointer still reads its own key after the others were asked for, and asking again gives the same one.
        XCTAssertEqual(pointers.map { String(cString: $0) }, ["alpha", "beta", "gamma"])
        XCTAssertEqual(ct_value_key(dict, 0), pointers[0])

        let text = try XCTUnwrap(ct_value_string("hello"))
        defer { ct_value_free(text) }
        let first = try XCTUnwrap(ct_value_to_string(text))
        XCTAssertEqual(ct_value_to_string(text), first)
        XCTAssertEqual(String(cString: first), "hello")
    }

    // MARK: helpers

    private func lastError() -> String { String(cString: ct_last_error()) }

    private func files(in folder: URL, ext: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == ext }.sorted { $0.path < $1.path }
            .map { try String(contentsOf: $0, encoding: .utf8) }
    }
}

/// Reads the shims' C sources: which entry points a header declares, and how each is defined.
enum EntryPoints {
    struct Definition {
        let name: String
        let text: String  // from the signature to the closing brace
        var isGuarded: Bool {
            ["guard", "CT_HANDLE(", "CT_STATUS(", "CT_COUNT(", "CT_BOOL(", "CT_VALUE("].contains { text.contains($0) }
                || text.range(of: #"// nothrow: \w+"#, options: .regularExpression) != nil
        }
    }

    /// Names of the functions a header declares (a declaration starts at the line's first column).
    static func declared(in header: String) -> [String] {
        header.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("typedef"), !line.hasPrefix("#"), !line.hasPrefix(" "), line.hasSuffix(";")
                || line.contains(");") || line.hasSuffix(",")
            else { return nil }
            return entryName(String(line))
        }
    }

    /// The entry points a source defines: a line at the first column naming one and opening a body, up to the line
    /// that closes it (the same line for one-liners, else the next line that is `}` at the first column).
    static func definitions(in source: String) -> [Definition] {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var found: [Definition] = []
        var i = 0
        while i < lines.count {
            let line = lines[i]
            guard let name = entryName(line), !line.hasPrefix(" "), !line.contains(";") || line.contains("{") else {
                i += 1
                continue
            }
            // The signature may run over several lines before its `{`.
            var j = i
            while j < lines.count, !lines[j].contains("{") { j += 1 }
            guard j < lines.count else { break }
            let opener = lines[j]
            let oneLiner = opener.trimmingCharacters(in: .whitespaces).range(of: #"\}\s*(//.*)?$"#, options: .regularExpression) != nil
                && opener.filter({ $0 == "{" }).count == opener.filter({ $0 == "}" }).count
            var end = j
            if !oneLiner {
                end = j + 1
                while end < lines.count, !lines[end].hasPrefix("}") { end += 1 }
            }
            found.append(Definition(name: name, text: lines[i...min(end, lines.count - 1)].joined(separator: "\n")))
            i = end + 1
        }
        return found
    }

    /// The `ct_`/`cvs_` function a line names before its first `(`, if any.
    private static func entryName(_ line: String) -> String? {
        guard let open = line.firstIndex(of: "(") else { return nil }
        let head = line[..<open]
        guard let match = head.range(of: #"\b(ct|cvs)_[A-Za-z0-9_]+$"#, options: .regularExpression) else { return nil }
        // A type before the name (`int ct_x(`), not a call (`return ct_x(`, `x = ct_x(`).
        let before = head[..<match.lowerBound].trimmingCharacters(in: .whitespaces)
        guard !before.isEmpty, !before.hasPrefix("return"), !before.contains("="), !before.hasPrefix("//"),
              !before.hasPrefix("/*"), !before.hasPrefix("*")
        else { return nil }
        return String(head[match])
    }
}
