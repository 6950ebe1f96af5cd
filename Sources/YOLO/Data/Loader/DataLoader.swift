import Foundation

/// Batches from a dataset, made by a pool of worker threads that run ahead of the consumer by a bounded number of
/// batches.
///
///     let loader = try DataLoader(dataset: train, batchSize: 16, workers: 8, shuffle: true, seed: 0)
///     for epoch in 0..<epochs {
///         let batches = loader.epoch(epoch)
///         for batch in batches {
///             let x = try batch.normalizedImages(device: device)   // (B, 3, H, W) float32 in [0, 1]
///             let loss = try criterion(model(x), batch.targets)     // targets (N, 6)
///         }
///         if let error = batches.error { throw error }
///     }
///
/// Determinism: the order of an epoch comes from (seed, epoch), and each sample's augmentation from (seed, epoch,
/// position), so the batches are the same for any number of workers and any thread timing. Memory: at most
/// `prefetch` batches are being made or waiting beyond the one the consumer holds, whatever the number of epochs.
///
/// Distributed training: with a `shard`, each rank draws its share of the epoch's order as the reference's
/// DistributedSampler does (the same shuffle on every rank, padded by its first indices to a multiple of the world
/// size, then every world-size-th index from the rank's), and its augmentations from a seed of its own.
public final class DataLoader: @unchecked Sendable {
    public let dataset: any BatchDataset
    /// Images per batch (the dataset's size when it is smaller).
    public let batchSize: Int
    /// Worker threads (0: samples are made in the consuming thread).
    public let workers: Int
    public let shuffle: Bool
    public let seed: UInt64
    /// Drop a last, smaller batch.
    public let dropLast: Bool
    /// Batches made ahead of the consumer.
    public let prefetch: Int
    /// This process's share of every epoch in distributed training; nil: the whole dataset.
    public let shard: DataShard?
    /// Segmentation: the masks each batch carries (see `MaskFormat`).
    public var masks: MaskFormat?

    /// - Parameters:
    ///   - workers: threads making samples; capped at the machine's cores, as the reference caps its processes.
    public init(
        dataset: any BatchDataset, batchSize: Int = 16, workers: Int = 8, shuffle: Bool = true, seed: UInt64 = 0,
        dropLast: Bool = false, prefetch: Int = 2, shard: DataShard? = nil
    ) throws {
        guard batchSize > 0 else { throw DataError("batch size must be positive, got \(batchSize)") }
        guard dataset.count > 0 else { throw DataError("the dataset has no images") }
        if let fixed = dataset.fixedBatchSize, fixed != batchSize,
            min(fixed, dataset.count) != min(batchSize, dataset.count)
        {
            throw DataError("the dataset's rectangular batches were made for batch size \(fixed), not \(batchSize)")
        }
        var shuffle = shuffle
        if shuffle, dataset.fixedBatchSize != nil {
            dataset.log("WARNING: rectangular batches are incompatible with shuffle, setting shuffle=False")
            shuffle = false
        }
        self.dataset = dataset
        self.shard = shard
        self.batchSize = min(batchSize, dataset.count)
        self.workers = max(0, min(workers, ProcessInfo.processInfo.activeProcessorCount))
        self.shuffle = shuffle
        self.seed = seed
        let samples = shard.map { ($0.worldSize + dataset.count - 1) / $0.worldSize } ?? dataset.count
        self.dropLast = dropLast && samples > self.batchSize && samples % self.batchSize != 0
        self.prefetch = max(1, prefetch)
        if DataLoader.tunesAllocator { _ = AllocatorTuning.applied }
    }

    /// Whether the first loader made tunes the C allocator to reuse large blocks (see `AllocatorTuning`; on by
    /// default, Linux only). Process-wide: set it before making a loader.
    nonisolated(unsafe) public static var tunesAllocator = true

    /// Samples per epoch: the dataset's images, or this rank's share of them.
    public var sampleCount: Int { shard.map { (dataset.count + $0.worldSize - 1) / $0.worldSize } ?? dataset.count }

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? sampleCount / batchSize : (sampleCount + batchSize - 1) / batchSize
    }

    /// The dataset indices of epoch `epoch`, in the order they are drawn (this rank's share with a `shard`).
    public func order(epoch: Int) -> [Int] {
        var order = Array(0..<dataset.count)
        if shuffle {
            var rng = SampleRNG(seed, UInt64(epoch), 0x5348_5546_464C_45)  // "SHUFFLE"
            order = rng.permutation(dataset.count)
        }
        guard let shard else { return order }
        // Position p of the padded order is order[p % count]; this rank takes p = rank, rank + world size, ...
        return (0..<sampleCount).map { order[(shard.rank + $0 * shard.worldSize) % order.count] }
    }

    /// The seed of the samples' augmentations: each rank has its own.
    var sampleSeed: UInt64 { seed &+ UInt64(shard?.rank ?? 0) }

    /// The batches of epoch `epoch` (0-based), made as they are consumed.
    public func epoch(_ epoch: Int) -> EpochBatches { EpochBatches(run: EpochRun(loader: self, epoch: epoch)) }
}

/// One epoch's batches, in order. Iterate it with `for batch in ...`; a sample that cannot be made is replaced by
/// the next image (with a warning), and if a batch cannot be made at all the iteration ends early and `error` says
/// why. `nextBatch()` throws instead.
public final class EpochBatches: Sequence, IteratorProtocol {
    let run: EpochRun
    public private(set) var error: Error?

    init(run: EpochRun) { self.run = run }

    deinit { run.cancel() }

    public var count: Int { run.batchCount }

    public func next() -> Batch? {
        guard error == nil else { return nil }
        do { return try run.next() } catch {
            self.error = error
            return nil
        }
    }

    public func nextBatch() throws -> Batch? {
        if let error { throw error }
        return try run.next()
    }
}

/// The shared state of one epoch: which positions are taken, the batches being filled, the batches ready.
final class EpochRun: @unchecked Sendable {
    let dataset: any BatchDataset
    let epoch: Int
    let batchSize: Int
    let batchCount: Int
    let total: Int
    let workers: Int
    let prefetch: Int
    let seed: UInt64
    let order: [Int]
    let previousOrder: [Int]

    private let condition = NSCondition()
    private var nextPosition = 0
    private var consumed = 0
    private var started = false
    private var cancelled = false
    private var failure: Error?
    private let masks: MaskFormat?
    private var filling: [Int: BatchAssembly] = [:]
    private var ready: [Int: Batch] = [:]

    init(loader: DataLoader, epoch: Int) {
        dataset = loader.dataset
        self.epoch = epoch
        batchSize = loader.batchSize
        batchCount = loader.batchCount
        total = min(loader.sampleCount, batchCount * batchSize)
        workers = loader.workers
        prefetch = loader.prefetch
        masks = loader.masks
        seed = loader.sampleSeed
        order = loader.order(epoch: epoch)
        previousOrder = epoch > 0 && loader.dataset.recentWindow > 0 ? loader.order(epoch: epoch - 1) : []
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch in order, waiting for it; nil after the last.
    func next() throws -> Batch? {
        if workers == 0 { return try nextInThisThread() }
        condition.lock()
        defer { condition.unlock() }
        if !started {
            started = true
            for _ in 0..<workers {
                let thread = Thread { [self] in work() }
                thread.name = "yolo-data-worker"
                thread.start()
            }
        }
        guard consumed < batchCount else { return nil }
        while ready[consumed] == nil, failure == nil { condition.wait() }
        if let failure { throw failure }
        let batch = ready.removeValue(forKey: consumed)!
        consumed += 1
        condition.broadcast()  // a worker may be waiting for room
        return batch
    }

    /// A worker: takes the next position while it is within `prefetch` batches of the consumer, makes the sample,
    /// and collates a batch when its last sample is in.
    private func work() {
        while true {
            condition.lock()
            while !cancelled, failure == nil, nextPosition < total, nextPosition / batchSize >= consumed + prefetch {
                condition.wait()
            }
            if cancelled || failure != nil || nextPosition >= total {
                condition.unlock()
                return
            }
            let position = nextPosition
            nextPosition += 1
            let assembly = assembly(for: position / batchSize)
            condition.unlock()

            var completed: Batch?
            do {
                let (sample, mirrored) = try makeSample(position)
                try assembly.write(sample, slot: position % batchSize, mirrored: mirrored)
                condition.lock()
                assembly.remaining -= 1
                let done = assembly.remaining == 0
                if done { filling[assembly.index] = nil }
                condition.unlock()
                if done { completed = try assembly.collate() }
            } catch {
                condition.lock()
                if failure == nil { failure = error }
                condition.broadcast()
                condition.unlock()
                return
            }
            if let completed {
                condition.lock()
                ready[completed.index] = completed
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    /// Called with the lock held.
    private func assembly(for batch: Int) -> BatchAssembly {
        if let existing = filling[batch] { return existing }
        let count = min(batchSize, total - batch * batchSize)
        let made = BatchAssembly(
            index: batch, epoch: epoch, count: count, shape: dataset.batchShape(batch), masks: masks)
        filling[batch] = made
        return made
    }

    private func nextInThisThread() throws -> Batch? {
        guard consumed < batchCount, !cancelled else { return nil }
        let batch = consumed
        let count = min(batchSize, total - batch * batchSize)
        let assembly = BatchAssembly(
            index: batch, epoch: epoch, count: count, shape: dataset.batchShape(batch), masks: masks)
        for slot in 0..<count {
            let (sample, mirrored) = try makeSample(batch * batchSize + slot)
            try assembly.write(sample, slot: slot, mirrored: mirrored)
        }
        consumed += 1
        return try assembly.collate()
    }

    /// The sample at `position`; an image that fails is replaced by the next ones in the order (with a warning),
    /// so that one broken file does not stop training.
    private func makeSample(_ position: Int) throws -> (sample: LabeledImage, mirrored: Bool) {
        let n = order.count
        var firstError: Error?
        for attempt in 0..<min(n, 10) {
            let index = order[(position + attempt) % n]
            var request = SampleRequest(
                index: index, epoch: epoch, position: position, batch: position / batchSize,
                recent: recent(upTo: position), seed: seed)
            if attempt > 0 { request.rng = SampleRNG(seed, UInt64(epoch), UInt64(position), UInt64(attempt)) }
            do { return try dataset.batchSample(request) } catch {
                dataset.log("WARNING: skipping \(dataset.labels[index].imageFile): \(error)")
                if firstError == nil { firstError = error }
            }
        }
        throw firstError!
    }

    /// The indices drawn at the `window` positions up to `position` (across the epoch boundary), for mosaics.
    private func recent(upTo position: Int) -> [Int] {
        let window = min(dataset.recentWindow, order.count)  // a rank's share can be smaller than the window
        guard window > 0 else { return [] }
        var indices: [Int] = []
        indices.reserveCapacity(window)
        for p in (position - window + 1)...position {
            if p >= 0 {
                indices.append(order[p])
            } else if !previousOrder.isEmpty {
                indices.append(previousOrder[previousOrder.count + p])
            }
        }
        return indices
    }
}

/// One rank's share of a dataset in distributed training.
public struct DataShard: Sendable, Equatable {
    public let rank: Int
    public let worldSize: Int

    public init(rank: Int, worldSize: Int) throws {
        guard worldSize > 0, (0..<worldSize).contains(rank) else {
            throw DataError("rank \(rank) is not in 0..<\(worldSize)")
        }
        (self.rank, self.worldSize) = (rank, worldSize)
    }
}
