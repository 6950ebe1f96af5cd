import Torch
import XCTest

/// Asserts that two arrays agree elementwise within `accuracy`.
func assertClose(
    _ actual: [Double], _ expected: [Double], accuracy: Double, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.count, expected.count, "count \(message)", file: file, line: line)
    for (i, (a, e)) in zip(actual, expected).enumerated() where !(Swift.abs(a - e) <= accuracy) {
        XCTFail("element \(i): \(a) vs \(e) (tolerance \(accuracy)) \(message)", file: file, line: line)
        return
    }
}

func values(_ t: Tensor) throws -> [Double] { try t.toArray(Double.self) }

/// Checks the gradients autograd gives for every input of `f` against central finite differences, in float64.
/// A non-scalar output is reduced with fixed random weights so that every output element matters.
func assertGradientsMatchFiniteDifferences(
    _ inputs: [Tensor], eps: Double = 1e-6, tolerance: Double = 1e-6, file: StaticString = #filePath,
    line: UInt = #line, _ f: ([Tensor]) throws -> Tensor
) throws {
    let leaves = try inputs.map { try $0.to(.float64).detach().clone().requiresGrad(true) }
    let probe = try f(leaves)
    let weights = try Tensor.randn(probe.shape, dtype: .float64)
    func objective(_ xs: [Tensor]) throws -> Tensor { try (f(xs) * weights).sum() }

    try objective(leaves).backward()
    for (k, leaf) in leaves.enumerated() {
        guard let grad = leaf.grad else { return XCTFail("input \(k) got no gradient", file: file, line: line) }
        let analytic = try values(grad)
        let base = try values(leaf)
        var numeric: [Double] = []
        for i in base.indices {
            func evaluate(_ delta: Double) throws -> Double {
                var shifted = base
                shifted[i] += delta
                var xs = leaves
                xs[k] = try Tensor(shifted, shape: leaf.shape)
                return try withNoGrad { try objective(xs).item() }
            }
            numeric.append((try evaluate(eps) - evaluate(-eps)) / (2 * eps))
        }
        assertClose(analytic, numeric, accuracy: tolerance, "gradient of input \(k)", file: file, line: line)
    }
}

/// Runs `body` and returns the TorchError it throws, failing the test when it throws nothing else.
func expectTorchError(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> TorchError? {
    do {
        try body()
        XCTFail("expected a TorchError, nothing was thrown", file: file, line: line)
    } catch let error as TorchError {
        XCTAssertFalse(error.message.isEmpty, "error message is empty", file: file, line: line)
        return error
    } catch {
        XCTFail("expected a TorchError, got \(error)", file: file, line: line)
    }
    return nil
}
