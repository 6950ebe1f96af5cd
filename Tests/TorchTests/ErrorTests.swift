import Foundation
import Torch
import XCTest

/// Bad input throws a Swift error carrying libtorch's message, and the process goes on.
final class ErrorTests: XCTestCase {
    func testWrongConvolutionShapesThrow() throws {
        let x = try Tensor.randn([1, 3, 8, 8])
        let error = expectTorchError { _ = try x.conv2d(try Tensor.randn([4, 5, 3, 3])) }
        XCTAssertTrue(error?.message.contains("channels") ?? false, error?.message ?? "")
        XCTAssertNotNil(expectTorchError { _ = try Tensor.randn([3, 8]).conv2d(try Tensor.randn([4, 3, 3, 3])) })
        XCTAssertNotNil(expectTorchError { _ = try Conv2d(3, 4, kernelSize: 3, groups: 2) })
    }

    func testMismatchedShapesAndDTypesThrow() throws {
        XCTAssertNotNil(expectTorchError { _ = try Tensor.ones([2, 3]) + Tensor.ones([4]) })
        let dtype = expectTorchError { _ = try Tensor.ones([2, 2]).matmul(Tensor.ones([2, 2], dtype: .int64)) }
        XCTAssertTrue(dtype?.message.lowercased().contains("type") ?? false, dtype?.message ?? "")
        XCTAssertNotNil(expectTorchError { _ = try Tensor.ones([4]).reshape(3) })
        XCTAssertNotNil(expectTorchError { _ = try Tensor.ones([4]).transpose(0, 1).view(2, 2).view(5) })
        XCTAssertNotNil(expectTorchError { _ = try Tensor.ones([4]).indexSelect(dim: 0, index: Tensor([9] as [Int64])) })
        XCTAssertNotNil(expectTorchError { _ = try Tensor.ones([2, 2]).item() })
        XCTAssertNotNil(expectTorchError { _ = try Tensor.ones([2])[5] })
        XCTAssertNotNil(expectTorchError { try Tensor.ones([2]).backward() })
    }

    func testAbsentDevicesThrowNamingTheDevice() throws {
        guard !Device.cuda(0).isAvailable else { throw XCTSkip("this machine has CUDA") }
        let cuda = expectTorchError { _ = try Tensor.zeros([2], device: .cuda(0)) }
        XCTAssertTrue(cuda?.message.contains("CUDA device 0") ?? false, cuda?.message ?? "")
        XCTAssertNotNil(expectTorchError { _ = try Tensor.ones([2]).to(.cuda(3)) })
        if !Device.mps.isAvailable {
            XCTAssertNotNil(expectTorchError { _ = try Tensor.ones([2]).to(.mps) })
        }
        XCTAssertNotNil(expectTorchError { _ = try Device(parsing: "gpu") })
        XCTAssertEqual(try Device(parsing: "cuda:1"), .cuda(1))
        XCTAssertEqual(try Device(parsing: "0"), .cuda(0))
        XCTAssertEqual(try Device(parsing: "cpu"), .cpu)
    }

    func testTheProcessGoesOnAfterManyErrors() throws {
        for _ in 0..<1000 { _ = try? Tensor.ones([2]) + Tensor.ones([3]) }
        XCTAssertEqual(try (Tensor.ones([2]) + 1).toArray(Float.self), [2, 2])
    }

    func testErrorsAreKeptPerThread() throws {
        // Each thread reads its own last error, not one another thread wrote.
        let group = DispatchGroup()
        final class Messages: @unchecked Sendable { var values = ["", ""]; let lock = NSLock() }
        let box = Messages()
        for i in 0..<2 {
            group.enter()
            Thread.detachNewThread {
                for _ in 0..<200 {
                    let message: String
                    do {
                        _ = i == 0 ? try Tensor.ones([2]).reshape(3) : try Tensor.zeros([2], device: .cuda(7))
                        message = "no error"
                    } catch { message = "\(error)" }
                    box.lock.lock()
                    box.values[i] = message
                    box.lock.unlock()
                    if i == 0 ? !message.contains("shape") : !message.contains("CUDA") { break }
                }
                group.leave()
            }
        }
        group.wait()
        XCTAssertTrue(box.values[0].contains("shape"), box.values[0])
        XCTAssertTrue(box.values[1].contains("CUDA"), box.values[1])
    }
}
