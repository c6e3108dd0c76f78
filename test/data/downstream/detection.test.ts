// Box readers (RSNA, Object-CXR, COCO incl. the real cxr-notes boxes.json), box masks, the
// image/mask folder reader and nearest mask resizing.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCoco, readCoco } from '../../../src/data/downstream/coco.js';
import { readImageMaskFolder } from '../../../src/data/downstream/image-mask-folder.js';
import { renderMask, resizeNearest } from '../../../src/data/downstream/masks.js';
import { objectCxrClassification, parseObjectCxrAnnotation, parseObjectCxrCsv } from '../../../src/data/downstream/object-cxr.js';
import { RSNA_COLUMNS, parseRsnaLabels, rsnaClassification, rsnaDetection, rsnaSegmentation } from '../../../src/data/downstream/rsna.js';

// stage_2_train_labels.csv: header and rows in the Kaggle file's style.
const RSNA = [
  'patientId,x,y,width,height,Target',
  '0004cfab-14fd-4e49-80ba-63a80b6bddd6,,,,,0',
  '00436515-870c-4b36-a041-de91049b9ab4,264.0,152.0,213.0,379.0,1',
  '00436515-870c-4b36-a041-de91049b9ab4,562.0,152.0,256.0,453.0,1',
].join('\n');

describe('RSNA Pneumonia', () => {
  it('groups boxes by patient and gives classification, detection and box masks', async () => {
    expect(RSNA.split('\n')[0]!.split(',')).toEqual([...RSNA_COLUMNS]);
    const p = parseRsnaLabels(RSNA, '/k/stage_2_train_labels.csv');
    expect(p.map((x) => [x.image, x.boxes])).toEqual([
      ['/k/stage_2_train_images/0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm', []],
      [
        '/k/stage_2_train_images/00436515-870c-4b36-a041-de91049b9ab4.dcm',
        [
          [264, 152, 213, 379],
          [562, 152, 256, 453],
        ],
      ],
    ]);
    expect(rsnaClassification(p).samples.map((s) => s.target)).toEqual([[0], [1]]);
    expect(rsnaDetection(p).samples[1]!.labels).toEqual([0, 0]);
    expect(rsnaSegmentation(p)[0]!.mask).toEqual({ kind: 'boxes', boxes: [] });
    expect(() => parseRsnaLabels('patientId,x,y,width,height,Target\na,1,2,3,4,0', 'l.csv')).toThrow(/data row 1/);
    expect(() => parseRsnaLabels('patientId,x,y,Target\na,1,2,0', 'l.csv')).toThrow(/no column 'width', 'height'/);
  });

  it('renders boxes as masks (pixels inside [x, x + w) x [y, y + h))', async () => {
    const mask = await renderMask({ kind: 'boxes', boxes: [[1, 0, 2, 2]] }, 3, 4);
    expect([...mask]).toEqual([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
  });
});

describe('Object-CXR', () => {
  it('turns rectangles, ellipses and polygons into their bounding boxes', () => {
    expect(parseObjectCxrAnnotation('0 10 20 30 50;1 5 5 15 25;2 1 2 7 3 4 9')).toEqual([
      [10, 20, 20, 30],
      [5, 5, 10, 20],
      [1, 2, 6, 7],
    ]);
    const d = parseObjectCxrCsv('image_name,annotation\n00001.jpg,0 10 20 30 50\n00002.jpg,\n', '/o/train.csv', { imageDir: '/o/train' });
    expect(d.samples.map((s) => [s.image, s.boxes.length])).toEqual([
      ['/o/train/00001.jpg', 1],
      ['/o/train/00002.jpg', 0],
    ]);
    expect(objectCxrClassification(d).samples.map((s) => s.target)).toEqual([[1], [0]]);
    expect(() => parseObjectCxrAnnotation('0 1 2 3', 'row 4')).toThrow(/row 4: object 1 '0 1 2 3': type 0 needs x1 y1 x2 y2/);
    expect(() => parseObjectCxrAnnotation('3 1 2 3 4')).toThrow(/type 3 is not/);
  });
});

describe('COCO', () => {
  it('reads the cxr-notes lung boxes', () => {
    const file = '../shared/data/cxr-notes/boxes.json';
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { images: { id: number; file_name: string; width: number; height: number }[]; annotations: { image_id: number; category_id: number; bbox: number[] }[] };
    const d = readCoco(file);
    expect(d.classes).toEqual(['right_lung', 'left_lung']);
    expect(d.samples).toHaveLength(434);
    expect(d.samples.reduce((n, s) => n + s.boxes.length, 0)).toBe(868);
    // Exactly one box of each lung per image (README).
    for (const s of d.samples) expect([...s.labels].sort()).toEqual([0, 1]);
    const first = raw.images[0]!;
    const s0 = d.samples[0]!;
    expect(s0.image).toBe(resolve('../shared/data/cxr-notes', first.file_name));
    expect([s0.width, s0.height]).toEqual([first.width, first.height]);
    const anns = raw.annotations.filter((a) => a.image_id === first.id);
    expect(s0.boxes).toEqual(anns.map((a) => a.bbox));
    expect(s0.labels).toEqual(anns.map((a) => a.category_id - 1));
  });

  it('names dangling references', () => {
    const base = { images: [{ id: 1, file_name: 'a.png' }], categories: [{ id: 3, name: 'x' }] };
    expect(() => parseCoco({ ...base, annotations: [{ image_id: 2, category_id: 3, bbox: [0, 0, 1, 1] }] }, 'c.json')).toThrow(/annotations\[0\] refers to image 2/);
    expect(() => parseCoco({ ...base, annotations: [{ image_id: 1, category_id: 4, bbox: [0, 0, 1, 1] }] }, 'c.json')).toThrow(/category 4/);
    expect(() => parseCoco({ images: [] }, 'c.json')).toThrow(/not a COCO detection file/);
  });
});

describe('masks', () => {
  it('resizes nearest by pixel centres', () => {
    // 2x2 -> 4x4: each source pixel becomes a 2x2 block.
    expect([...resizeNearest([1, 0, 0, 255], 2, 2, 4, 4)]).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
    // 3 -> 2 columns: centres 0.75 and 2.25 pick columns 0 and 2.
    expect([...resizeNearest([1, 0, 1], 1, 3, 1, 2)]).toEqual([1, 1]);
  });

  it('pairs the cxr-seg images and masks by name', async () => {
    const samples = readImageMaskFolder('../shared/data/cxr-seg');
    expect(samples).toHaveLength(70);
    expect(samples[0]!.id).toBe('seg0001');
    // README: the lung fraction of the masks lies in [0.139, 0.592].
    const m = await renderMask(samples[0]!.mask, 255, 320);
    const share = m.reduce((a, b) => a + b, 0) / m.length;
    expect(share).toBeGreaterThan(0.139);
    expect(share).toBeLessThan(0.592);
  });
});
