extension Config {
    /// The reference's arguments (detect, segment and pose) and their defaults, in its order.
    static let defaults: [(String, ConfigValue)] = [
        // what and where
        ("task", .string("detect")), ("mode", .string("train")), ("model", .null), ("data", .null),
        // training
        ("epochs", .int(100)), ("time", .null), ("patience", .int(100)), ("batch", .int(16)), ("imgsz", .int(640)),
        ("save", .bool(true)), ("save_period", .int(-1)), ("cache", .bool(false)), ("device", .null),
        ("workers", .int(8)), ("project", .null), ("name", .null), ("exist_ok", .bool(false)),
        ("pretrained", .bool(true)), ("optimizer", .string("auto")), ("verbose", .bool(true)), ("seed", .int(0)),
        ("deterministic", .bool(true)), ("single_cls", .bool(false)), ("rect", .bool(false)), ("cos_lr", .bool(false)),
        ("close_mosaic", .int(10)), ("resume", .bool(false)), ("amp", .bool(true)), ("fraction", .double(1.0)),
        ("profile", .bool(false)), ("freeze", .null), ("multi_scale", .double(0.0)),
        // segmentation
        ("overlap_mask", .bool(true)), ("mask_ratio", .int(4)),
        // validation
        ("val", .bool(true)), ("split", .string("val")), ("save_json", .bool(false)), ("conf", .null),
        ("iou", .double(0.7)), ("max_det", .int(300)), ("half", .bool(false)), ("plots", .bool(true)),
        // prediction
        ("source", .null), ("vid_stride", .int(1)), ("stream_buffer", .bool(false)), ("visualize", .bool(false)),
        ("augment", .bool(false)), ("agnostic_nms", .bool(false)), ("classes", .null),
        ("retina_masks", .bool(false)), ("show", .bool(false)),
        ("save_frames", .bool(false)), ("save_txt", .bool(false)), ("save_conf", .bool(false)),
        ("save_crop", .bool(false)), ("show_labels", .bool(true)), ("show_conf", .bool(true)),
        ("show_boxes", .bool(true)), ("line_width", .null),
        // export
        ("format", .string("torchscript")), ("dynamic", .bool(false)), ("simplify", .bool(true)), ("opset", .null),
        // optimisation
        ("lr0", .double(0.01)), ("lrf", .double(0.01)), ("momentum", .double(0.937)), ("weight_decay", .double(0.0005)),
        ("warmup_epochs", .double(3.0)), ("warmup_momentum", .double(0.8)), ("warmup_bias_lr", .double(0.1)),
        ("box", .double(7.5)), ("cls", .double(0.5)), ("dfl", .double(1.5)), ("pose", .double(12.0)),
        ("kobj", .double(1.0)), ("nbs", .int(64)),
        // augmentation
        ("hsv_h", .double(0.015)), ("hsv_s", .double(0.7)), ("hsv_v", .double(0.4)), ("degrees", .double(0.0)),
        ("translate", .double(0.1)), ("scale", .double(0.5)), ("shear", .double(0.0)), ("perspective", .double(0.0)),
        ("flipud", .double(0.0)), ("fliplr", .double(0.5)), ("bgr", .double(0.0)), ("mosaic", .double(1.0)),
        ("mixup", .double(0.0)), ("cutmix", .double(0.0)), ("copy_paste", .double(0.0)),
        ("copy_paste_mode", .string("flip")),
        ("cfg", .null),
    ]
}
