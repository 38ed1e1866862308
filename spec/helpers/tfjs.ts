// @tensorflow/tfjs on its CPU backend, as the tests compare against it. IS_TEST silences tfjs's
// "install our node backend" banner, which each test file would otherwise print once.
import * as tf from '@tensorflow/tfjs';

tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');

export { tf };
