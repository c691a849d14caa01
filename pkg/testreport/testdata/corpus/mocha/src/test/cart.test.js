'use strict';

const assert = require('assert');
const os = require('os');
const path = require('path');
const { total, receipt, saveReceipt } = require('../cart');

let seed = Number(process.env.CORPUS_SEED || 1);
function rand(n) {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
}

const items = [
  { price: 100 + rand(5000), quantity: 1 + rand(5) },
  { price: 100 + rand(5000), quantity: 1 + rand(5) },
];
const sum = items.reduce((s, it) => s + it.price * it.quantity, 0);

describe('Cart', function () {
  describe('#total()', function () {
    it('has no discount', function () {
      assert.strictEqual(total(items, 0), sum);
    });
    it('applies a big discount', function () {
      const pct = 60 + rand(30);
      assert.strictEqual(total(items, pct), sum - Math.floor((sum * pct) / 100));
    });
  });
  describe('#receipt()', function () {
    it('names the customer', function () {
      const order = { id: rand(1000), customer: { name: 'Ada' } };
      assert.ok(receipt(order).includes('Ada'));
      if (process.env.CORPUS_TMP === '1') {
        saveReceipt(order, path.join(os.tmpdir(), `corpus-${process.pid}-${rand(100000)}`));
      }
    });
    it('handles a guest order', function () {
      receipt({ id: 1000 + rand(9000) });
    });
    it.skip('prints a gift note', function () {});
  });
});

describe('Inventory', function () {
  it('is in stock', function () {
    if (process.env.CORPUS_FLAKY === '1') {
      const stock = 1 + rand(20);
      assert.deepStrictEqual({ stock: stock - 1 }, { stock });
    }
  });
});
