import Torch
import XCTest

/// The CPU line benchmarks and `yolo checks` print: model name and the extensions that choose kernels.
final class CPUInfoTests: XCTestCase {
    func testReadsTheModelAndTheRelevantFlagsOfTheFirstProcessor() {
        let text = """
            processor\t: 0
            vendor_id\t: AuthenticAMD
            model name\t: AMD EPYC 9R14 96-Core Processor
            flags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16 sha_ni

            processor\t: 1
            model name\t: something else
            flags\t\t: fpu amx_bf16
            """
        let cpu = CPUInfo(cpuinfo: text)
        XCTAssertEqual(cpu.model, "AMD EPYC 9R14 96-Core Processor")
        XCTAssertEqual(cpu.features, ["avx2", "fma", "avx512f", "avx512_bf16"])
        XCTAssertTrue(cpu.hasNativeBFloat16)
        XCTAssertEqual(cpu.description, "AMD EPYC 9R14 96-Core Processor (AVX2, FMA, AVX-512, AVX-512 BF16)")

        let avx2 = CPUInfo(cpuinfo: "model name : AMD EPYC\nflags : fpu avx2 fma\n")
        XCTAssertFalse(avx2.hasNativeBFloat16)
        XCTAssertEqual(avx2.description, "AMD EPYC (AVX2, FMA)")
        XCTAssertEqual(CPUInfo(cpuinfo: "").description, "unknown CPU")
        XCTAssertEqual("\(avx2)", "AMD EPYC (AVX2, FMA)", "interpolated as its description")
    }

    func testThisMachineHasAName() {
        XCTAssertFalse(CPUInfo.current.model.isEmpty)
        #if os(Linux)
        XCTAssertNotEqual(CPUInfo.current.model, "unknown CPU", "/proc/cpuinfo names the CPU on Linux")
        #endif
    }
}
