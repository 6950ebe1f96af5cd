import Foundation
import Torch

/// Training's precision from `amp`, as the reference decides it on CUDA: `amp=True` (its default) trains CUDA runs
/// under float16 autocast with a GradScaler once `check` finds float16 predictions close to float32 ones; `amp=bf16`
/// trains under bfloat16 autocast on any device, without a scaler; `amp=False` (or `fp32`) trains in float32.
/// On the CPU, where the reference turns `amp=True` off, it takes bfloat16 autocast on CPUs that compute in bfloat16
/// natively (AVX-512 BF16, AMX), after the same check, where that is faster than float32 (`lowerPrecision`), and
/// float32 elsewhere (emulated bfloat16 is several times slower).
public struct TrainingPrecision {
    /// The autocast type of forward and loss; nil: float32.
    public let autocast: DType?
    public let device: Device

    /// Whether the loss is scaled (float16 only: bfloat16 has float32's range).
    public var scalesLoss: Bool { autocast == .float16 }

    /// `check(dtype)`: whether predictions under autocast to `dtype` agree with float32 ones (see
    /// `check(_:device:dtype:log:)`). `fusedBlock`: whether training's fused float32 Conv block runs here.
    public init(
        _ amp: ConfigValue?, device: Device, cpu: CPUInfo = .current,
        fusedBlock: Bool = Runtime.fusedConvBlock == .active, check: (DType) throws -> Bool = { _ in true }
    ) throws {
        self.device = device
        switch amp.map({ $0.string?.lowercased() == "true" ? .bool(true) : $0 }) {
        case .string(let s)? where s.lowercased() == "bf16": autocast = .bfloat16
        case .string(let s)? where s.lowercased() == "fp32" || s.lowercased() == "false": autocast = nil
        case .bool(false)?: autocast = nil
        case nil, .null?, .bool(true)?:
            autocast = try Self.lowerPrecision(device: device, cpu: cpu, fusedBlock: fusedBlock).flatMap {
                try check($0) ? $0 : nil
            }
        case let other?: throw ConfigError("amp=\(other) is not one of True, False, bf16, fp32")
        }
    }

    /// What `amp=True` tries: float16 on CUDA; bfloat16 on a CPU with native bfloat16, unless the fused float32 Conv
    /// block runs there (Debian's libtorch 1.13 with oneDNN), which trains faster than bfloat16 autocast (yolov8n at
    /// 320 on 2 cores of an AVX-512 BF16 EPYC: 36.4 against 32.4 images/s; on pip's torch 2.15, without the block,
    /// bfloat16 is 1.5x float32); else none (float32).
    public static func lowerPrecision(
        device: Device, cpu: CPUInfo = .current, fusedBlock: Bool = Runtime.fusedConvBlock == .active
    ) -> DType? {
        if device.isCUDA { return .float16 }
        return device == .cpu && cpu.hasNativeBFloat16 && !fusedBlock ? .bfloat16 : nil
    }

    /// `body` under this precision's autocast.
    public func run<R>(_ body: () throws -> R) throws -> R {
        guard let autocast else { return try body() }
        return try Autocast.run(on: device, dtype: autocast, body)
    }

    /// The reference's `check_amp`: the model's predictions on a built-in picture under autocast to `dtype` against
    /// float32, within 0.5 (boxes in pixels, scores); false (with the reference's error) where they differ, which
    /// is what GPUs with broken float16 give. bfloat16 keeps 8 bits of mantissa, and a trained model's boxes move by
    /// pixels in it (the reference's overfit coco8 yolov8n: by up to 19.5 px on this picture, 0.029 on average): there
    /// every value must be finite and their mean difference within 0.5. The model is left in the mode it was in.
    public static func check(_ model: DetectionModel, device: Device, dtype: DType = .float16, log: (String) -> Void)
        throws -> Bool
    {
        log("AMP: running Automatic Mixed Precision (AMP) checks\(dtype == .bfloat16 ? " (bfloat16)" : "")...")
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let side = Swift.max(256, Int((model.strides.max() ?? 32) * 4))
        var rng = SplitMixRandom(seed: 0)  // one scene of the built-in dataset: the same picture every time
        let image = try Predictor.inputTensor(ShapeScene.generate(size: side, rng: &rng).image).to(device)
        let (full, lower) = try withNoGrad {
            (try model(image), try Autocast.run(on: device, dtype: dtype) { try model(image) }.to(.float32))
        }
        let close = try full.shape == lower.shape
            && (dtype == .bfloat16
                ? lower.isfinite().all().item() == 1 && (full - lower).abs().mean().item() <= 0.5
                : (full - lower).abs().amax().item() <= 0.5)
        if close {
            log("AMP: checks passed ✅")
        } else {
            log("AMP: checks failed. Anomalies were detected with AMP on your system that may lead to NaN losses or "
                + "zero-mAP results, so AMP will be disabled during training.")
        }
        return close
    }
}

extension Device {
    var isCUDA: Bool { if case .cuda = self { true } else { false } }
}
